// The audible cue for a new critical alarm: a short two-tone beep made with WebAudio (no audio
// file, nothing fetched). The operator can mute it; the choice is kept in this browser.

const MUTE_KEY = 'campus-prepaid.alarm-muted';

export class AlarmSound {
  constructor() {
    /** @type {AudioContext | null} */
    this.context = null;
    /** Beeps played since the page opened (the button shows it as data-beeps, for tests and support). */
    this.played = 0;
    this.muted = readMuted();
  }

  /** @param {boolean} muted */
  setMuted(muted) {
    this.muted = muted;
    try {
      window.localStorage.setItem(MUTE_KEY, muted ? '1' : '0');
    } catch {
      // Private mode: the choice lasts for this page.
    }
  }

  /** Plays the cue unless muted; true when it played. */
  beep() {
    if (this.muted) return false;
    const AudioContextClass = window.AudioContext;
    if (!AudioContextClass) return false;
    this.context ??= new AudioContextClass();
    const context = this.context;
    if (context.state === 'suspended') void context.resume();
    const start = context.currentTime;
    for (const [offset, frequency] of [[0, 880], [0.18, 660]]) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = 'square';
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.16);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + 0.17);
    }
    this.played += 1;
    return true;
  }
}

function readMuted() {
  try {
    return window.localStorage.getItem(MUTE_KEY) === '1';
  } catch {
    return false;
  }
}

/**
 * A broker URL without its user-info. MQTT_URL may carry the server's `user:password@`: no API
 * answer may repeat it, and a gateway client must not inherit it (mqtt.js prefers the URL's
 * user-info to the `username`/`password` options).
 */
export function withoutUserInfo(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

import type { HistogramSnapshot } from '../metric-reader.ts';

/** One scrape of GET /api/metrics (Prometheus text), summed over label sets. */
export class Scrape {
  private readonly samples = new Map<string, { labels: string; value: number }[]>();

  constructor(text: string) {
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
      if (!match) continue;
      const list = this.samples.get(match[1]!) ?? [];
      list.push({ labels: match[2] ?? '', value: Number(match[3]) });
      this.samples.set(match[1]!, list);
    }
  }

  /** Sum over every label set of the metric (optionally only those whose labels contain `having`). */
  total(name: string, having = ''): number {
    return (this.samples.get(name) ?? []).filter((s) => s.labels.includes(having)).reduce((sum, s) => sum + s.value, 0);
  }

  /** A histogram, buckets merged over label sets (optionally only those whose labels contain `having`). */
  histogram(name: string, having = ''): HistogramSnapshot {
    const buckets = new Map<number, number>();
    for (const s of (this.samples.get(`${name}_bucket`) ?? []).filter((sample) => sample.labels.includes(having))) {
      const le = /le="([^"]+)"/.exec(s.labels)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + s.value);
    }
    return { count: this.total(`${name}_count`, having), sum: this.total(`${name}_sum`, having), buckets };
  }
}

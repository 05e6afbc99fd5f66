/**
 * The Prometheus text exposition format, version 0.0.4: one `# HELP` and one `# TYPE` line per family,
 * then its samples, `name{label="value",...} value`. Label values escape backslash, double quote and
 * line feed; HELP text escapes backslash and line feed. Names are checked here, so a bad one is a
 * MetricsError naming it rather than a page Prometheus refuses whole.
 */
import { MetricsError } from './errors.ts';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge';
export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function checkLabelName(family: string, name: string): void {
  if (!LABEL_NAME.test(name) || name.startsWith('__')) {
    throw new MetricsError(
      'METRICS_INVALID_NAME',
      `metric ${family}: label name ${JSON.stringify(name)} should match [a-zA-Z_][a-zA-Z0-9_]* and not start with __`,
    );
  }
}

function renderLabels(family: string, labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  const parts = keys.map((k) => {
    checkLabelName(family, k);
    return `${k}="${escapeLabelValue(labels[k] ?? '')}"`;
  });
  return `{${parts.join(',')}}`;
}

/** The exposition of `families`, in order. Families with no samples still get their HELP and TYPE. */
export function render(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) {
      throw new MetricsError(
        'METRICS_INVALID_NAME',
        `metric name ${JSON.stringify(f.name)} should match [a-zA-Z_:][a-zA-Z0-9_:]*`,
      );
    }
    if (seen.has(f.name)) {
      throw new MetricsError('METRICS_INVALID_NAME', `metric ${f.name} appears twice in one exposition`);
    }
    seen.add(f.name);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    const series = new Set<string>();
    for (const s of f.samples) {
      const labels = renderLabels(f.name, s.labels);
      if (series.has(labels)) {
        throw new MetricsError(
          'METRICS_INVALID_NAME',
          `metric ${f.name}: the series ${labels} appears twice`,
        );
      }
      series.add(labels);
      lines.push(`${f.name}${labels} ${formatValue(s.value)}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Collects families by name while a collector walks its sources; `families()` keeps the order of first use. */
export class FamilyBuilder {
  private readonly byName = new Map<string, { help: string; type: MetricType; samples: Sample[] }>();

  private family(name: string, help: string, type: MetricType): Sample[] {
    let f = this.byName.get(name);
    if (f === undefined) {
      f = { help, type, samples: [] };
      this.byName.set(name, f);
    } else if (f.type !== type) {
      throw new MetricsError('METRICS_INVALID_NAME', `metric ${name} is used both as ${f.type} and ${type}`);
    }
    return f.samples;
  }

  /** Declares a family (so it has HELP/TYPE even without samples) and returns a function adding samples. */
  gauge(name: string, help: string): (labels: Labels, value: number) => void {
    const samples = this.family(name, help, 'gauge');
    return (labels, value) => samples.push({ labels, value });
  }

  counter(name: string, help: string): (labels: Labels, value: number) => void {
    const samples = this.family(name, help, 'counter');
    return (labels, value) => samples.push({ labels, value });
  }

  families(): MetricFamily[] {
    return [...this.byName].map(([name, f]) => ({ name, help: f.help, type: f.type, samples: f.samples }));
  }
}

// Reads Prometheus text exposition with the Prometheus project's own Python client parser
// (prometheus_client.parser, Debian's python3-prometheus-client; .ci/run installs it), so the metrics are
// checked by a real, strict parser rather than by the emulator's own idea of the format.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  samples: Sample[];
}

const PYTHON = '/usr/bin/python3';
const SCRIPT = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": family.name, "type": family.type,
                "samples": [{"name": s.name, "labels": s.labels, "value": (s.value if math.isfinite(s.value) else str(s.value))} for s in family.samples]})
print(json.dumps(out))
`;

/** Why the parser cannot run here, or undefined if it can. */
export function prometheusParserMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is not installed`;
  try {
    execFileSync(PYTHON, ['-c', 'import prometheus_client.parser'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return "the Python package prometheus_client is not installed (apt-get install python3-prometheus-client)";
  }
}

/** Parses exposition text; throws with the parser's message if it is not valid. */
export function parsePrometheus(text: string): Family[] {
  return JSON.parse(execFileSync(PYTHON, ['-c', SCRIPT], { input: text, encoding: 'utf8' })) as Family[];
}

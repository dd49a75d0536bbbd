import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Sections of BENCHMARKS.md that a run of their own writes in place (`npm run bench -- --storm-only`,
 * `npm run bench:metrics`), between `<!-- <name>:start -->` and `<!-- <name>:end -->`. A full report
 * keeps the ones it does not write itself.
 */
const marks = (name: string) => [`<!-- ${name}:start -->`, `<!-- ${name}:end -->`] as const;
const SECTION = /<!-- ([a-z-]+):start -->[\s\S]*?<!-- \1:end -->/g;

/** `lines` between the section's marks. */
export function section(name: string, lines: string[]): string {
  const [start, end] = marks(name);
  return [start, ...lines, end].join('\n');
}

/** Writes one section into `out` in place (appended when it is not there yet). */
export function writeSection(out: string, name: string, lines: string[]): void {
  const [start, end] = marks(name);
  const text = section(name, lines);
  const old = existsSync(out) ? readFileSync(out, 'utf8') : '# Benchmarks\n';
  const a = old.indexOf(start);
  const b = old.indexOf(end);
  const next = a >= 0 && b > a ? old.slice(0, a) + text + old.slice(b + end.length) : `${old.replace(/\n*$/, '\n\n')}${text}\n`;
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, next);
}

/** `doc` with the sections of the report at `out` that `doc` does not have, appended. */
export function keepSections(doc: string, out: string): string {
  if (!existsSync(out)) return doc;
  const have = new Set([...doc.matchAll(SECTION)].map((m) => m[1]));
  const kept = [...readFileSync(out, 'utf8').matchAll(SECTION)].filter((m) => !have.has(m[1])).map((m) => m[0]);
  return kept.length ? `${doc.replace(/\n*$/, '\n\n')}${kept.join('\n\n')}\n` : doc;
}

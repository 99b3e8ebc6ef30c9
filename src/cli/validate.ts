// `sluice validate PATH...`: checks manifests and policies without a server, the way GitOps will before it
// applies them, and prints every problem as `file:line:column: message`.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseManifestFile, formatProblem } from '../gitops/index.js';
import { createManifestCheck, defaultCrdDir } from './manifest-checks.js';
import { packageRoot } from './package-root.js';
import { parsePolicies } from '../rollout/policy/index.js';

async function yamlFiles(p: string): Promise<string[]> {
  const st = await stat(p);
  if (!st.isDirectory()) return [p];
  const out: string[] = [];
  for (const e of (await readdir(p, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const full = join(p, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(full)));
    else if (/\.ya?ml$/.test(e.name)) out.push(full);
  }
  return out;
}

export interface ValidateResult {
  files: number;
  objects: number;
  problems: string[];
  /** `file:line:column: warning: ...`; they do not make the files invalid. */
  warnings: string[];
}

export async function validatePaths(paths: string[], namespace = 'default'): Promise<ValidateResult> {
  const check = await createManifestCheck(defaultCrdDir(packageRoot()));
  const res: ValidateResult = { files: 0, objects: 0, problems: [], warnings: [] };
  for (const p of paths) {
    for (const f of await yamlFiles(p)) {
      const shown = relative(process.cwd(), f) || f;
      const text = await readFile(f, 'utf8');
      const parsed = parseManifestFile(text, shown, namespace, check);
      res.files++;
      res.objects += parsed.manifests.length;
      res.problems.push(...parsed.problems.map(formatProblem));
      for (const w of parsed.warnings) res.warnings.push(`${w.file}:${w.line}:${w.column}: warning: ${w.message}`);
      if (/kind:\s*["']?RolloutPolicy/.test(text))
        for (const w of parsePolicies(text, shown).warnings)
          res.warnings.push(`${w.file ?? shown}:${w.line ?? 1}:${w.column ?? 1}: warning: ${w.message}`);
    }
  }
  return res;
}

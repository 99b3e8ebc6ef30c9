// `service create -f FILE`: the Service read from a YAML or JSON file, as kn's constructServiceFromFile
// does it: the first document only, the name from the argument or the file (they must agree), the
// namespace from -n / the kubeconfig context (the file's is overridden). Pure: text in, Service out.
import { LineCounter, parseAllDocuments } from 'yaml';
import type { Service } from '../../serving/types.js';
import { KnError } from './errors.js';

/** Kubernetes' own request-body limit; a larger file cannot be a valid object. */
export const MAX_SERVICE_FILE_BYTES = 3 * 1024 * 1024;

function fileError(message: string, file: string, line?: number, col?: number): KnError {
  const where = line !== undefined ? `${file}:${line}${col !== undefined ? `:${col}` : ''}` : file;
  return new KnError('SLUICE_ERR_KN_FILE', `${where}: ${message}`);
}

/**
 * Parses `text` (from `file`, named in messages) into the Service kn would send.
 * `name` is the command's NAME argument ('' when not given); `namespace` the resolved one.
 */
export function serviceFromFile(text: string, file: string, name: string, namespace: string): Service {
  if (Buffer.byteLength(text) > MAX_SERVICE_FILE_BYTES)
    throw fileError(`file is larger than ${MAX_SERVICE_FILE_BYTES} bytes`, file);
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const all = Array.isArray(docs) ? docs : [docs];
  const doc = all[0];
  if (!doc) throw fileError('no object found in the file', file);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lc.linePos(e.pos[0]);
    throw fileError(e.message.split('\n')[0]!, file, pos.line, pos.col);
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw fileError('the file must hold a Knative Service object (a YAML or JSON mapping)', file, 1);
  }
  const obj = value as Record<string, unknown>;
  // kn decodes any document into a Service; one of another kind would lose most of its fields silently.
  if (obj['kind'] !== undefined && obj['kind'] !== 'Service') {
    throw fileError(`kind is '${String(obj['kind'])}', want 'Service' (serving.knative.dev/v1)`, file);
  }
  const meta = obj['metadata'];
  if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta)))
    throw fileError('metadata must be a mapping', file);
  const spec = obj['spec'];
  if (spec !== undefined && (spec === null || typeof spec !== 'object' || Array.isArray(spec)))
    throw fileError('spec must be a mapping', file);
  const service = { ...obj, apiVersion: 'serving.knative.dev/v1', kind: 'Service' } as Service;
  const m = (service.metadata = { ...((meta as Record<string, unknown> | undefined) ?? {}) });
  const fileName = typeof m.name === 'string' ? m.name : '';
  if (name === '' && fileName !== '') {
    // the file's name is used
  } else if (name !== '' && fileName === '') {
    m.name = name;
  } else if (name !== '' && fileName !== '') {
    if (name !== fileName)
      throw new KnError(
        'SLUICE_ERR_KN_ARGS',
        `provided service name '${name}' doesn't match name from file '${fileName}'`,
      );
  } else {
    throw new KnError('SLUICE_ERR_KN_ARGS', 'no service name provided in command parameter or file');
  }
  m.namespace = namespace;
  return service;
}

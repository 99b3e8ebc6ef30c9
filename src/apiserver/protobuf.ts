// kubectl sends built-in kinds it creates itself (`kubectl create configmap|secret|namespace`) as Kubernetes
// protobuf: the magic "k8s\0", then a runtime.Unknown whose `raw` field holds the object. This decodes the
// few kinds Sluice users create that way into the JSON form everything else uses. Field numbers are those
// of k8s.io/api/core/v1/generated.proto and apimachinery's meta/v1 ObjectMeta.
import { errors } from './status.js';

type Field = { no: number; wire: number; value: bigint | Buffer };

function varint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n,
    shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p1] = varint(buf, pos);
    pos = p1;
    const no = Number(tag >> 3n),
      wire = Number(tag & 7n);
    if (wire === 0) {
      const [v, p2] = varint(buf, pos);
      pos = p2;
      out.push({ no, wire, value: v });
    } else if (wire === 2) {
      const [len, p2] = varint(buf, pos);
      const end = p2 + Number(len);
      if (end > buf.length) throw new Error('truncated field');
      out.push({ no, wire, value: buf.subarray(p2, end) });
      pos = end;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

const bytes = (f: Field): Buffer => (Buffer.isBuffer(f.value) ? f.value : Buffer.alloc(0));
const str = (f: Field): string => bytes(f).toString('utf8');

function mapEntry(f: Field): [string, Buffer] {
  let k = '';
  let v: Buffer = Buffer.alloc(0);
  for (const e of fields(bytes(f))) {
    if (e.no === 1) k = str(e);
    else if (e.no === 2) v = bytes(e);
  }
  return [k, v];
}

function objectMeta(buf: Buffer): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  const labels: Record<string, string> = {},
    annotations: Record<string, string> = {};
  const finalizers: string[] = [];
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1:
        m.name = str(f);
        break;
      case 2:
        // proto2 sends empty optional strings; JSON leaves them out.
        if (str(f)) m.generateName = str(f);
        break;
      case 3:
        m.namespace = str(f);
        break;
      case 11: {
        const [k, v] = mapEntry(f);
        labels[k] = v.toString('utf8');
        break;
      }
      case 12: {
        const [k, v] = mapEntry(f);
        annotations[k] = v.toString('utf8');
        break;
      }
      case 14:
        finalizers.push(str(f));
        break;
      default:
        break;
    }
  }
  if (Object.keys(labels).length) m.labels = labels;
  if (Object.keys(annotations).length) m.annotations = annotations;
  if (finalizers.length) m.finalizers = finalizers;
  return m;
}

function stringMap(entries: Field[], asBase64: boolean): Record<string, string> | undefined {
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const f of entries) {
    const [k, v] = mapEntry(f);
    out[k] = asBase64 ? v.toString('base64') : v.toString('utf8');
  }
  return out;
}

/**
 * A protobuf message as a table of field number → [JSON name, type]: a scalar kind, a nested message, or a
 * repeated one. Field numbers from k8s.io/api/{rbac,authentication,authorization}/v1/generated.proto.
 */
type FieldType = 'string' | 'strings' | 'int' | Message | { repeated: Message };
interface Message {
  [no: number]: [string, FieldType];
}

const RESOURCE_ATTRIBUTES: Message = {
  1: ['namespace', 'string'],
  2: ['verb', 'string'],
  3: ['group', 'string'],
  4: ['version', 'string'],
  5: ['resource', 'string'],
  6: ['subresource', 'string'],
  7: ['name', 'string'],
};
const NON_RESOURCE_ATTRIBUTES: Message = { 1: ['path', 'string'], 2: ['verb', 'string'] };
const SAR_SPEC: Message = {
  1: ['resourceAttributes', RESOURCE_ATTRIBUTES],
  2: ['nonResourceAttributes', NON_RESOURCE_ATTRIBUTES],
  3: ['user', 'string'],
  4: ['groups', 'strings'],
  6: ['uid', 'string'],
};
const POLICY_RULE: Message = {
  1: ['verbs', 'strings'],
  2: ['apiGroups', 'strings'],
  3: ['resources', 'strings'],
  4: ['resourceNames', 'strings'],
  5: ['nonResourceURLs', 'strings'],
};
const BINDING: Message = {
  2: [
    'subjects',
    {
      repeated: { 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] },
    },
  ],
  3: ['roleRef', { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] }],
};
/** Top-level messages (field 1, metadata, is decoded apart). */
const MESSAGES: Record<string, Message> = {
  TokenRequest: { 2: ['spec', { 1: ['audiences', 'strings'], 4: ['expirationSeconds', 'int'] }] },
  SelfSubjectReview: {},
  SelfSubjectAccessReview: {
    2: [
      'spec',
      { 1: ['resourceAttributes', RESOURCE_ATTRIBUTES], 2: ['nonResourceAttributes', NON_RESOURCE_ATTRIBUTES] },
    ],
  },
  SubjectAccessReview: { 2: ['spec', SAR_SPEC] },
  LocalSubjectAccessReview: { 2: ['spec', SAR_SPEC] },
  Role: { 2: ['rules', { repeated: POLICY_RULE }] },
  ClusterRole: { 2: ['rules', { repeated: POLICY_RULE }] },
  RoleBinding: BINDING,
  ClusterRoleBinding: BINDING,
};

function decodeMessage(buf: Buffer, msg: Message, skip = new Set<number>()): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    const def = msg[f.no];
    if (!def || skip.has(f.no)) continue;
    const [name, type] = def;
    if (type === 'string') out[name] = str(f);
    else if (type === 'strings') out[name] = [...((out[name] as string[] | undefined) ?? []), str(f)];
    else if (type === 'int') out[name] = typeof f.value === 'bigint' ? Number(f.value) : 0;
    else if ('repeated' in type)
      out[name] = [...((out[name] as unknown[] | undefined) ?? []), decodeMessage(bytes(f), type.repeated as Message)];
    else out[name] = decodeMessage(bytes(f), type);
  }
  return out;
}

/** Decodes a `k8s\0`-prefixed protobuf body of a ConfigMap, Secret or Namespace into its JSON form. */
export function decodeK8sProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || body.subarray(0, 4).toString('latin1') !== 'k8s\0')
    throw errors.badRequest('protobuf body without the k8s magic prefix');
  try {
    let apiVersion = '',
      kind = '';
    let raw: Buffer = Buffer.alloc(0);
    for (const f of fields(body.subarray(4))) {
      if (f.no === 1)
        for (const t of fields(bytes(f))) {
          if (t.no === 1) apiVersion = str(t);
          else if (t.no === 2) kind = str(t);
        }
      else if (f.no === 2) raw = bytes(f);
    }
    const top = fields(raw);
    const metaField = top.find((f) => f.no === 1);
    const obj: Record<string, unknown> = { apiVersion, kind, metadata: metaField ? objectMeta(bytes(metaField)) : {} };
    const by = (n: number): Field[] => top.filter((f) => f.no === n);
    if (kind === 'ConfigMap') {
      const data = stringMap(by(2), false),
        binary = stringMap(by(3), true);
      if (data) obj.data = data;
      if (binary) obj.binaryData = binary;
      const imm = by(4)[0];
      if (imm) obj.immutable = imm.value === 1n;
    } else if (kind === 'Secret') {
      const data = stringMap(by(2), true),
        stringData = stringMap(by(4), false);
      if (data) obj.data = data;
      if (stringData) obj.stringData = stringData;
      const type = by(3)[0];
      if (type) obj.type = str(type);
      const imm = by(5)[0];
      if (imm) obj.immutable = imm.value === 1n;
    } else if (MESSAGES[kind]) {
      Object.assign(obj, decodeMessage(raw, MESSAGES[kind], new Set([1])));
    } else if (kind !== 'Namespace' && kind !== 'ServiceAccount') {
      throw errors.notAcceptableMedia(
        `protobuf is only understood for ConfigMap, Secret, Namespace, ServiceAccount, RBAC and auth review kinds, not ${kind}; send application/json`,
      );
    }
    return obj;
  } catch (e) {
    if (e instanceof Error && e.name === 'StatusError') throw e;
    throw errors.badRequest(
      `the protobuf request body could not be decoded: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

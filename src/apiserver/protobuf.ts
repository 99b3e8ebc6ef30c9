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
        m.generateName = str(f);
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
    } else if (kind !== 'Namespace') {
      throw errors.notAcceptableMedia(
        `protobuf is only understood for ConfigMap, Secret and Namespace, not ${kind}; send application/json`,
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

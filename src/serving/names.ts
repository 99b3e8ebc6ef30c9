// Names Knative derives for child objects. Names are limited to 63 characters, so long parents are shortened
// with an md5 of the parent (kmeta.ChildName), which keeps them unique and stable across restarts.

import { createHash } from 'node:crypto';
import type { ObjectMeta } from './types.js';

const LONGEST = 63;
const MD5_LEN = 32;
const HEAD = LONGEST - MD5_LEN;

const md5hex = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

/** kmeta.ChildName: `parent + suffix`, hashed to fit 63 characters when too long. */
export function childName(parent: string, suffix: string): string {
  if (parent.length <= LONGEST - suffix.length) return parent + suffix;
  if (HEAD - suffix.length <= 0) {
    // A suffix this long leaves no room for the parent: hash both and pad with the suffix's start.
    const h = md5hex(parent + suffix);
    let ret = (HEAD < parent.length ? parent.slice(0, HEAD) : parent) + h;
    const room = LONGEST - ret.length;
    if (room > 0) ret += suffix.slice(0, room);
    return trimToAlphanumeric(ret);
  }
  return parent.slice(0, HEAD - suffix.length) + md5hex(parent) + suffix;
}

function trimToAlphanumeric(n: string): string {
  let out = n;
  while (out.length > 0 && !/[a-zA-Z0-9]$/.test(out)) out = out.slice(0, -1);
  return out;
}

/** `<configuration>-00001`: the generation, zero-padded to five digits (more digits when larger). */
export function revisionName(configurationName: string, generation: number): string {
  return childName(configurationName, `-${String(generation).padStart(5, '0')}`);
}

/** A Service's Configuration and Route carry the Service's name. */
export const configurationName = (service: { metadata?: ObjectMeta }): string => service.metadata?.name ?? '';
export const routeName = (service: { metadata?: ObjectMeta }): string => service.metadata?.name ?? '';

/** The Route's placeholder Kubernetes Service. */
export const k8sServiceName = (route: { metadata?: ObjectMeta }): string => route.metadata?.name ?? '';

export const ingressName = (route: { metadata?: ObjectMeta }): string => childName(route.metadata?.name ?? '', '');

/** `<name>.<namespace>.svc.<clusterDomain>`, the Route's cluster-local address host. */
export function k8sServiceFullname(route: { metadata?: ObjectMeta }, clusterDomain = 'cluster.local'): string {
  return `${k8sServiceName(route)}.${route.metadata?.namespace ?? ''}.svc.${clusterDomain}`;
}

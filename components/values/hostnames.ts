/** Host name syntax shared by the allowlist and the git repositories: domain names and IPv4 literals. */

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** A fully qualified domain name (lowercase): two labels or more, letters, digits and dashes between dots. */
export function isDomainName(name: string): boolean {
  const labels = name.split(".");
  return labels.length >= 2 && name.length <= 253 && labels.every((label) => LABEL.test(label));
}

/** True when every dot-separated part of a name is a valid DNS label. */
export function hasValidLabels(name: string): boolean {
  return name.split(".").every((label) => LABEL.test(label));
}

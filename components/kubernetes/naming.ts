/**
 * Names and labels of a stack's objects on a cluster. The names are the Docker ones (engine/naming.ts:
 * project and stack in front, so stacks sharing a namespace never collide), in the spelling Kubernetes
 * takes for Services and pods: lowercase letters, digits and dashes, at most 63.
 */
import { labelsFor, physicalName, ROLE_LABEL, STACK_OBJECTS, type StackIdentity, sandboxObjects } from "../engine/naming";

/** A Service name's limit (RFC 1035 label), the tightest of the kinds the stack creates. */
const MAX_NAME_LENGTH = 63;

/** The sandbox's container in its pod. The pod itself carries no role label, as its Docker container carries none: the policy pack reads that as "the sandbox". */
export const SANDBOX_CONTAINER = "sandbox";
export const EGRESS_PROXY_ROLE = "egress-proxy";

export function kubernetesName(identity: StackIdentity, nameInStack: string): string {
  return physicalName(identity, nameInStack).replace(/[_.]+/g, "-");
}

/** A sandbox's objects on the cluster: its pod, claims, proxies (pod and Service of one name each) and NetworkPolicies (named as the pod they govern). */
export function clusterObjectNames(identity: StackIdentity, sandbox: string) {
  const objects = sandboxObjects(sandbox);
  const name = (object: { name: string }) => kubernetesName(identity, object.name);
  return {
    pod: name(objects.container),
    home: name(objects.home),
    workspace: name(objects.clone),
    egressProxy: name(objects.proxyContainer),
    credentialProxy: name(objects.credentialProxy),
  };
}

export const proxySecretName = (identity: StackIdentity) => kubernetesName(identity, STACK_OBJECTS.proxySecrets.name);

/** Names the cluster would refuse (too long, or not starting with a letter), before anything is declared. */
export function clusterNameProblems(identity: StackIdentity, sandboxes: readonly string[]): string[] {
  const names = [proxySecretName(identity), ...sandboxes.flatMap((sandbox) => Object.values(clusterObjectNames(identity, sandbox)))];
  return names
    .filter((name) => name.length > MAX_NAME_LENGTH || !/^[a-z]/.test(name))
    .map(
      (name) =>
        `kubernetes: the object name "${name}" (project, stack and sandbox names joined) is not a name the cluster takes (at most ${MAX_NAME_LENGTH} characters, starting with a letter); shorten the sandbox or stack name`,
    );
}

/** Labels of an object of a sandbox on the cluster; `role` tells its proxies apart, which the NetworkPolicies select by. */
export function clusterLabels(identity: StackIdentity, sandbox: string, role?: string): Record<string, string> {
  return { ...labelsFor(identity, sandbox), ...(role ? { [ROLE_LABEL]: role } : {}) };
}

/** Selects the pod of one of the sandbox's roles, or with none the sandbox's own pod (the one without a role). */
export function podSelector(identity: StackIdentity, sandbox: string, role?: string) {
  return role
    ? { matchLabels: clusterLabels(identity, sandbox, role) }
    : { matchLabels: clusterLabels(identity, sandbox), matchExpressions: [{ key: ROLE_LABEL, operator: "DoesNotExist" }] };
}

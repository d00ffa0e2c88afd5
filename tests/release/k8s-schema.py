#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check a Kubernetes manifest against the parts of the API it uses.

    k8s-schema.py MANIFEST.yaml [PROXY]

Every document must parse as YAML and be a v1 ConfigMap, a v1 Service or an
apps/v1 DaemonSet; every field it names must exist in that type (the field
lists below are the full ones of each type, taken from the Kubernetes API
reference, release 1.36: the OpenAPI-generated models of kubernetes-client),
with a value of the field's type (a string where a string is wanted: `PORT:
15353` in a ConfigMap is an error there), enumerations among their values,
required fields present. Then what a schema cannot see: names valid, the
DaemonSet's selector matching its pods' labels, each Service selecting them,
probe and Service target ports naming container ports, envFrom naming a
ConfigMap of the file. With PROXY (the dns-tls-proxy binary), every key of a
ConfigMap used by envFrom must be one of the proxy's environment variables
(`--help`), and the proxy must accept the whole set (`--check`).

A type the manifest reaches that is not described here fails the check, so
that nothing is passed over unchecked: describe it from the API reference.
Exit 0 when everything holds, 1 with one line per problem.
"""
import re
import subprocess
import sys

import yaml

S, I, B = "string", "integer", "boolean"
IOS = "int-or-string"
QTY = "quantity"
MAPS = ("map", S)
MAPQ = ("map", QTY)


def L(t):
    return ("list", t)


def E(*values):
    return ("enum",) + values


# type -> {field: type}; a field name with a trailing "!" is required.
# Type names ending in "~" are real API types this test does not describe:
# using one is reported (see the docstring).
T = {
    "ConfigMap": {"apiVersion!": S, "kind!": S, "metadata!": "ObjectMeta", "data": MAPS,
                  "binaryData": MAPS, "immutable": B},
    "Service": {"apiVersion!": S, "kind!": S, "metadata!": "ObjectMeta", "spec": "ServiceSpec",
                "status": "ServiceStatus~"},
    "DaemonSet": {"apiVersion!": S, "kind!": S, "metadata!": "ObjectMeta", "spec": "DaemonSetSpec",
                  "status": "DaemonSetStatus~"},
    "ObjectMeta": {"annotations": MAPS, "creationTimestamp": S, "deletionGracePeriodSeconds": I,
                   "deletionTimestamp": S, "finalizers": L(S), "generateName": S, "generation": I,
                   "labels": MAPS, "managedFields": L("ManagedFieldsEntry~"), "name": S,
                   "namespace": S, "ownerReferences": L("OwnerReference~"), "resourceVersion": S,
                   "selfLink": S, "uid": S},
    "ServiceSpec": {"allocateLoadBalancerNodePorts": B, "clusterIP": S, "clusterIPs": L(S),
                    "externalIPs": L(S), "externalName": S,
                    "externalTrafficPolicy": E("Cluster", "Local"), "healthCheckNodePort": I,
                    "internalTrafficPolicy": E("Cluster", "Local"), "ipFamilies": L(E("IPv4", "IPv6")),
                    "ipFamilyPolicy": E("SingleStack", "PreferDualStack", "RequireDualStack"),
                    "loadBalancerClass": S, "loadBalancerIP": S, "loadBalancerSourceRanges": L(S),
                    "ports": L("ServicePort"), "publishNotReadyAddresses": B, "selector": MAPS,
                    "sessionAffinity": E("ClientIP", "None"),
                    "sessionAffinityConfig": "SessionAffinityConfig~", "trafficDistribution": S,
                    "type": E("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")},
    "ServicePort": {"appProtocol": S, "name": S, "nodePort": I, "port!": I,
                    "protocol": E("TCP", "UDP", "SCTP"), "targetPort": IOS},
    "DaemonSetSpec": {"minReadySeconds": I, "revisionHistoryLimit": I, "selector!": "LabelSelector",
                      "template!": "PodTemplateSpec", "updateStrategy": "DaemonSetUpdateStrategy"},
    "DaemonSetUpdateStrategy": {"rollingUpdate": "RollingUpdateDaemonSet",
                                "type": E("RollingUpdate", "OnDelete")},
    "RollingUpdateDaemonSet": {"maxSurge": IOS, "maxUnavailable": IOS},
    "LabelSelector": {"matchExpressions": L("LabelSelectorRequirement~"), "matchLabels": MAPS},
    "PodTemplateSpec": {"metadata": "ObjectMeta", "spec": "PodSpec"},
    "PodSpec": {"activeDeadlineSeconds": I, "affinity": "Affinity~", "automountServiceAccountToken": B,
                "containers!": L("Container"), "dnsConfig": "PodDNSConfig~",
                "dnsPolicy": E("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"),
                "enableServiceLinks": B, "ephemeralContainers": L("EphemeralContainer~"),
                "hostAliases": L("HostAlias~"), "hostIPC": B, "hostNetwork": B, "hostPID": B,
                "hostUsers": B, "hostname": S, "hostnameOverride": S,
                "imagePullSecrets": L("LocalObjectReference~"), "initContainers": L("Container"),
                "nodeName": S, "nodeSelector": MAPS, "os": "PodOS~", "overhead": MAPQ,
                "preemptionPolicy": E("Never", "PreemptLowerPriority"), "priority": I,
                "priorityClassName": S, "readinessGates": L("PodReadinessGate~"),
                "resourceClaims": L("PodResourceClaim~"), "resources": "ResourceRequirements",
                "restartPolicy": E("Always", "OnFailure", "Never"), "runtimeClassName": S,
                "schedulerName": S, "schedulingGates": L("PodSchedulingGate~"),
                "schedulingGroup": "PodSchedulingGroup~", "securityContext": "PodSecurityContext",
                "serviceAccount": S, "serviceAccountName": S, "setHostnameAsFQDN": B,
                "shareProcessNamespace": B, "subdomain": S, "terminationGracePeriodSeconds": I,
                "tolerations": L("Toleration"),
                "topologySpreadConstraints": L("TopologySpreadConstraint~"), "volumes": L("Volume~")},
    "Container": {"args": L(S), "command": L(S), "env": L("EnvVar~"), "envFrom": L("EnvFromSource"),
                  "image": S, "imagePullPolicy": E("Always", "Never", "IfNotPresent"),
                  "lifecycle": "Lifecycle~", "livenessProbe": "Probe", "name!": S,
                  "ports": L("ContainerPort"), "readinessProbe": "Probe",
                  "resizePolicy": L("ContainerResizePolicy~"), "resources": "ResourceRequirements",
                  "restartPolicy": S, "restartPolicyRules": L("ContainerRestartRule~"),
                  "securityContext": "SecurityContext", "startupProbe": "Probe", "stdin": B,
                  "stdinOnce": B, "terminationMessagePath": S,
                  "terminationMessagePolicy": E("File", "FallbackToLogsOnError"), "tty": B,
                  "volumeDevices": L("VolumeDevice~"), "volumeMounts": L("VolumeMount~"),
                  "workingDir": S},
    "ContainerPort": {"containerPort!": I, "hostIP": S, "hostPort": I, "name": S,
                      "protocol": E("TCP", "UDP", "SCTP")},
    "EnvFromSource": {"configMapRef": "ConfigMapEnvSource", "prefix": S,
                      "secretRef": "SecretEnvSource~"},
    "ConfigMapEnvSource": {"name": S, "optional": B},
    "ResourceRequirements": {"claims": L("ResourceClaim~"), "limits": MAPQ, "requests": MAPQ},
    "SecurityContext": {"allowPrivilegeEscalation": B, "appArmorProfile": "AppArmorProfile~",
                        "capabilities": "Capabilities", "privileged": B,
                        "procMount": E("Default", "Unmasked"), "readOnlyRootFilesystem": B,
                        "runAsGroup": I, "runAsNonRoot": B, "runAsUser": I,
                        "seLinuxOptions": "SELinuxOptions~", "seccompProfile": "SeccompProfile",
                        "windowsOptions": "WindowsSecurityContextOptions~"},
    "PodSecurityContext": {"appArmorProfile": "AppArmorProfile~", "fsGroup": I,
                           "fsGroupChangePolicy": E("OnRootMismatch", "Always"), "runAsGroup": I,
                           "runAsNonRoot": B, "runAsUser": I, "seLinuxChangePolicy": S,
                           "seLinuxOptions": "SELinuxOptions~", "seccompProfile": "SeccompProfile",
                           "supplementalGroups": L(I), "supplementalGroupsPolicy": E("Merge", "Strict"),
                           "sysctls": L("Sysctl~"), "windowsOptions": "WindowsSecurityContextOptions~"},
    "SeccompProfile": {"localhostProfile": S, "type!": E("Localhost", "RuntimeDefault", "Unconfined")},
    "Capabilities": {"add": L(S), "drop": L(S)},
    "Probe": {"exec": "ExecAction~", "failureThreshold": I, "grpc": "GRPCAction~",
              "httpGet": "HTTPGetAction~", "initialDelaySeconds": I, "periodSeconds": I,
              "successThreshold": I, "tcpSocket": "TCPSocketAction", "terminationGracePeriodSeconds": I,
              "timeoutSeconds": I},
    "TCPSocketAction": {"host": S, "port!": IOS},
    "Toleration": {"effect": E("NoSchedule", "PreferNoSchedule", "NoExecute"), "key": S,
                   "operator": E("Exists", "Equal", "Lt", "Gt"), "tolerationSeconds": I, "value": S},
}
KINDS = {("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "DaemonSet")}

# Kubernetes' own formats (apimachinery validation).
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
QUANTITY = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$")

errors = []


def err(path, msg):
    errors.append("%s: %s" % (path, msg))


def iana_svc_name(name):
    """A port name: at most 15 of [a-z0-9-], a letter among them, no -- or - at the ends."""
    return (0 < len(name) <= 15 and re.match(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", name)
            and "--" not in name and re.search(r"[a-z]", name))


def check(value, t, path):
    if isinstance(t, str) and t.endswith("~"):
        err(path, "of type %s, which this test does not describe (add it from the API reference)" % t[:-1])
    elif t == S:
        if not isinstance(value, str):
            err(path, "must be a string, not %r" % (value,))
    elif t == I:
        if not isinstance(value, int) or isinstance(value, bool):
            err(path, "must be an integer, not %r" % (value,))
    elif t == B:
        if not isinstance(value, bool):
            err(path, "must be true or false, not %r" % (value,))
    elif t == IOS:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            err(path, "must be an integer or a string, not %r" % (value,))
    elif t == QTY:
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not QUANTITY.match(str(value)):
            err(path, "not a quantity: %r" % (value,))
    elif isinstance(t, tuple) and t[0] == "enum":
        if value not in t[1:]:
            err(path, "%r is not one of %s" % (value, ", ".join(t[1:])))
    elif isinstance(t, tuple) and t[0] == "list":
        if not isinstance(value, list):
            err(path, "must be a list")
            return
        for i, v in enumerate(value):
            check(v, t[1], "%s[%d]" % (path, i))
    elif isinstance(t, tuple) and t[0] == "map":
        if not isinstance(value, dict):
            err(path, "must be a map")
            return
        for k, v in value.items():
            if not isinstance(k, str):
                err(path, "key %r must be a string" % (k,))
            check(v, t[1], "%s.%s" % (path, k))
    else:
        fields = T[t]
        if not isinstance(value, dict):
            err(path, "must be a %s (a map)" % t)
            return
        known = {f.rstrip("!"): ft for f, ft in fields.items()}
        for f in fields:
            if f.endswith("!") and f[:-1] not in value:
                err(path, "%s needs %s" % (t, f[:-1]))
        for k, v in value.items():
            if k not in known:
                err("%s.%s" % (path, k), "no such field in %s" % t)
            else:
                check(v, known[k], "%s.%s" % (path, k))


def labels_ok(labels, path):
    for k, v in (labels or {}).items():
        prefix, _, name = k.rpartition("/")
        if (prefix and not DNS1123_SUBDOMAIN.match(prefix)) or not LABEL_NAME.match(name):
            err(path, "bad label key %r" % k)
        if not isinstance(v, str) or not LABEL_VALUE.match(v):
            err(path, "bad label value %r" % (v,))


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    manifest, proxy = sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None
    try:
        with open(manifest) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        print("%s: not YAML: %s" % (manifest, e))
        return 1
    byname = {}
    for n, d in enumerate(docs):
        where = "document %d" % (n + 1)
        if not isinstance(d, dict) or (d.get("apiVersion"), d.get("kind")) not in KINDS:
            err(where, "not one of %s" % ", ".join("%s %s" % k for k in sorted(KINDS)))
            continue
        kind = d["kind"]
        where = "%s %s" % (kind, (d.get("metadata") or {}).get("name"))
        check(d, kind, where)
        meta = d.get("metadata") or {}
        name = meta.get("name", "")
        # Service names are DNS-1035 labels; the others DNS-1123 subdomains.
        if not (DNS1035_LABEL if kind == "Service" else DNS1123_SUBDOMAIN).match(str(name)):
            err(where, "bad name %r" % (name,))
        if "namespace" in meta and not DNS1123_LABEL.match(str(meta["namespace"])):
            err(where, "bad namespace %r" % (meta["namespace"],))
        labels_ok(meta.get("labels"), where + ".metadata.labels")
        byname[(kind, meta.get("namespace", "default"), name)] = d
        if kind == "ConfigMap":
            for k in d.get("data") or {}:
                if not CONFIGMAP_KEY.match(str(k)):
                    err(where, "bad data key %r" % (k,))
    if errors:
        return report(manifest)

    pods = []  # (namespace, labels, pod spec, where)
    for (kind, ns, name), d in byname.items():
        if kind != "DaemonSet":
            continue
        where = "DaemonSet %s" % name
        spec = d.get("spec", {})
        tmpl = spec["template"]
        plabels = (tmpl.get("metadata") or {}).get("labels") or {}
        labels_ok(plabels, where + ".spec.template.metadata.labels")
        if not selects(spec["selector"].get("matchLabels"), plabels):
            err(where, "spec.selector.matchLabels does not match the pod template's labels")
        pspec = tmpl.get("spec") or {}
        pods.append((ns, plabels, pspec, where))
        names = set()
        for c in pspec.get("containers", []) + pspec.get("initContainers", []):
            cw = "%s container %s" % (where, c.get("name"))
            if not DNS1123_LABEL.match(c.get("name", "")) or c["name"] in names:
                err(cw, "container names must be unique DNS-1123 labels")
            names.add(c.get("name"))
            ports = {}
            for p in c.get("ports", []):
                if "name" in p:
                    if not iana_svc_name(p["name"]):
                        err(cw, "bad port name %r (at most 15 of a-z, 0-9, -)" % p["name"])
                    ports[p["name"]] = p
                if not 0 < p["containerPort"] < 65536:
                    err(cw, "containerPort %r out of range" % p["containerPort"])
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                port = ((c.get(probe) or {}).get("tcpSocket") or {}).get("port")
                if isinstance(port, str) and port not in ports:
                    err(cw, "%s.tcpSocket.port %r names no port of the container" % (probe, port))
            for ef in c.get("envFrom", []):
                ref = (ef.get("configMapRef") or {}).get("name")
                if ref is not None and ("ConfigMap", ns, ref) not in byname:
                    err(cw, "envFrom names ConfigMap %r, not in this file (namespace %s)" % (ref, ns))
                elif ref is not None and proxy:
                    check_env(proxy, byname[("ConfigMap", ns, ref)].get("data") or {}, cw)
    for (kind, ns, name), d in byname.items():
        if kind != "Service":
            continue
        where = "Service %s" % name
        spec = d.get("spec") or {}
        targets = [p for (pns, pl, ps, _) in pods if pns == ns and selects(spec.get("selector"), pl)
                   for c in ps.get("containers", []) for p in c.get("ports", [])]
        if not targets:
            err(where, "its selector matches no pod of this file's DaemonSets")
        for p in spec.get("ports", []):
            tp = p.get("targetPort", p["port"])
            proto = p.get("protocol", "TCP")
            if not any((tp == t.get("name") if isinstance(tp, str) else tp == t["containerPort"])
                       and proto == t.get("protocol", "TCP") for t in targets):
                err(where, "port %s: targetPort %r/%s is no container port" % (p.get("name"), tp, proto))
    return report(manifest)


def check_env(proxy, data, where):
    """The ConfigMap's keys are the proxy's environment variables; it accepts them."""
    out = subprocess.run([proxy, "--help"], capture_output=True, text=True).stdout
    known = set(re.findall(r"\[env: ([A-Z0-9_]+)\]", out))
    if not known:
        err(where, "%s --help names no environment variable" % proxy)
        return
    for k in data:
        if k not in known:
            err(where, "ConfigMap key %s is not an environment variable of the proxy" % k)
    env = {k: str(v) for k, v in data.items()}
    r = subprocess.run([proxy, "--check"], env=env, capture_output=True, text=True)
    if r.returncode != 0 or "# configuration OK" not in r.stdout:
        err(where, "the proxy refuses the ConfigMap's settings: %s" % (r.stderr.strip() or r.stdout.strip()))


def report(manifest):
    for e in errors:
        print("%s: %s" % (manifest, e))
    if not errors:
        print("%s: OK" % manifest)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

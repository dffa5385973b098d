// Package manifests holds the checks CI runs on the deployment files: the
// docker-compose file against .env.example and the services, every
// kustomize overlay and every Helm chart rendered and decoded strictly into
// the Kubernetes API types, one contract (probes, security, secrets,
// autoscaling, network reachability) asserted on each rendering, and the
// graceful-shutdown behaviour of the service binaries under SIGTERM.
//
// The package has no code of its own: everything is in its tests.
package manifests

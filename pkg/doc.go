// Package pkg is the root of the shared module: the platform pieces every
// gateway service uses (configuration, logging, errors, the gin scaffolding,
// telemetry, health checks, and later auth and rate limiting). Each lives in
// its own sub-package; this file only anchors the module.
package pkg

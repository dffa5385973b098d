// Package ratelimit limits requests per client with GCRA (a token bucket
// whose burst equals the limit): one Limiter interface with a Redis
// implementation shared by every replica and an in-memory one for a single
// instance, the original design's policy tables per layer, and a gin
// middleware that applies a route's policy and the layer's global policy,
// writes the RateLimit headers of DESIGN §3, and fails open (or closed)
// when Redis does not answer in time.
package ratelimit

// Package edgemetrics reads the edge's request counter from its admin
// /metrics endpoint and sums it per API layer for the public metrics
// summary. The edge is the only process that sees every layer's traffic,
// so it is the source; the scrape is cached so the public endpoint cannot
// be used to load the edge.
package edgemetrics

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Counter and label the edge exports.
const (
	metricName = "edge_requests_total"
	layerLabel = "layer"
)

// maxBody bounds what is read from the edge: its exposition is a few
// hundred kilobytes at most.
const maxBody = 8 << 20

// Counts are requests per layer since the edge started. Total also counts
// requests outside the three layers (unknown paths answered by the edge).
type Counts struct {
	Public, App, MCP, Total uint64
}

// Options configures a Scraper.
type Options struct {
	URL     string // the edge admin base URL; /metrics is appended
	Client  *http.Client
	Timeout time.Duration // per scrape
	TTL     time.Duration // how long a scrape (or a failure) is reused
	Logger  *slog.Logger
}

// Scraper fetches and caches Counts; safe for concurrent use.
type Scraper struct {
	o   Options
	url string

	mu     sync.Mutex
	at     time.Time
	counts Counts
	err    error
}

// New returns a Scraper.
func New(o Options) *Scraper {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Scraper{o: o, url: strings.TrimRight(o.URL, "/") + "/metrics"}
}

// Counts returns the cached counts while fresh, else scrapes the edge.
// The lock is held across the scrape on purpose: concurrent callers wait
// for one scrape instead of each starting their own.
func (s *Scraper) Counts(ctx context.Context) (Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.at.IsZero() && time.Since(s.at) < s.o.TTL {
		return s.counts, s.err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.Timeout)
	defer cancel()
	s.counts, s.err = s.scrape(ctx)
	s.at = time.Now()
	if s.err != nil {
		s.o.Logger.WarnContext(ctx, "edge metrics unavailable", "url", s.url, "error", s.err)
	}
	return s.counts, s.err
}

func (s *Scraper) scrape(ctx context.Context) (Counts, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return Counts{}, err
	}
	// The text format is all the parser needs; no protobuf negotiation.
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return Counts{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return Counts{}, fmt.Errorf("GET %s: status %d", s.url, resp.StatusCode)
	}
	return Parse(io.LimitReader(resp.Body, maxBody))
}

// Parse sums edge_requests_total by its layer label from a Prometheus text
// exposition. A missing counter (an edge that has served nothing yet, or
// one that exports other names) is an error, not zero.
func Parse(r io.Reader) (Counts, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Counts{}, fmt.Errorf("parsing edge metrics: %w", err)
	}
	fam, ok := families[metricName]
	if !ok {
		return Counts{}, fmt.Errorf("edge metrics have no %s", metricName)
	}
	var c Counts
	for _, m := range fam.GetMetric() {
		v := uint64(value(fam.GetType(), m))
		switch labelOf(m) {
		case "public":
			c.Public += v
		case "app":
			c.App += v
		case "mcp":
			c.MCP += v
		}
		c.Total += v
	}
	return c, nil
}

func value(t dto.MetricType, m *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue()
	}
	return 0
}

func labelOf(m *dto.Metric) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == layerLabel {
			return l.GetValue()
		}
	}
	return ""
}

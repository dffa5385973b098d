package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/services/app-svc/internal/config"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// openStore makes the pool without dialling: pgxpool connects on first use.
func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		// pgx errors may quote the URL; name the variable only.
		return nil, fmt.Errorf("DATABASE_URL: cannot parse (%s)", pkgconfig.MaskURL(cfg.DatabaseURL))
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	return store.New(pool, cfg.DBStatementTimeout), nil
}

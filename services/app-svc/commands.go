package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/services/app-svc/internal/config"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// migrate applies pending migrations and prints what it applied.
func migrate(ctx context.Context, cfg config.Config, stdout, _ io.Writer) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Pool().Close()
	applied, err := store.Migrate(ctx, st.Pool())
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "migrations: up to date")
		return nil
	}
	for _, v := range applied {
		fmt.Fprintf(stdout, "migrations: applied %05d\n", v)
	}
	return nil
}

// apikey is the admin CLI: it inserts a key as service_role, so it may
// give any scope and any configured tier, and an owner or none.
func apikey(ctx context.Context, cfg config.Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: app-svc apikey create --scopes tools:read,tools:execute [--owner <uuid>] [--name …] [--tier standard] [--expires 720h]")
	}
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scopes := fs.String("scopes", "", "comma-separated: "+strings.Join(auth.KnownScopes, ", "))
	owner := fs.String("owner", "", "user id the key acts for (workflow tools); empty: catalogue tools only")
	name := fs.String("name", "cli", "client name")
	tier := fs.String("tier", "standard", "rate-limit tier (RATE_LIMIT_TIERS)")
	expires := fs.Duration("expires", 0, "lifetime, e.g. 720h; 0 never expires")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	k := store.NewAPIKey{Name: strings.TrimSpace(*name), Tier: *tier}
	for _, s := range strings.Split(*scopes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(auth.KnownScopes, s) {
			return fmt.Errorf("--scopes: unknown scope %q (want %s)", s, strings.Join(auth.KnownScopes, ", "))
		}
		if !slices.Contains(k.Scopes, s) {
			k.Scopes = append(k.Scopes, s)
		}
	}
	if len(k.Scopes) == 0 {
		return errors.New("--scopes: give at least one of " + strings.Join(auth.KnownScopes, ", "))
	}
	tiers, err := cfg.RateLimit.TierMultipliers()
	if err != nil {
		return err
	}
	if _, ok := tiers[k.Tier]; !ok {
		return fmt.Errorf("--tier %q is not in RATE_LIMIT_TIERS", k.Tier)
	}
	if k.Name == "" || len(k.Name) > 100 {
		return errors.New("--name: 1 to 100 characters")
	}
	if *owner != "" {
		id, err := uuid.Parse(*owner)
		if err != nil {
			return fmt.Errorf("--owner %q: want a UUID", *owner)
		}
		k.UserID = uuid.NullUUID{UUID: id, Valid: true}
	}
	if *expires < 0 {
		return errors.New("--expires: want a positive duration, or 0 for none")
	}
	if *expires > 0 {
		t := time.Now().Add(*expires)
		k.ExpiresAt = &t
	}
	key, err := auth.GenerateAPIKey()
	if err != nil {
		return err
	}
	k.Prefix = key.Prefix
	if k.Hash, err = hex.DecodeString(key.Hash); err != nil {
		return err
	}

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Pool().Close()
	var row store.APIKey
	err = st.AsService(ctx, func(tx pgx.Tx) error {
		row, err = store.InsertAPIKey(ctx, tx, k)
		return err
	})
	if err != nil {
		return fmt.Errorf("storing the key: %w", err)
	}
	ownerText := "none (catalogue tools only)"
	if k.UserID.Valid {
		ownerText = k.UserID.UUID.String()
	}
	expiry := "never"
	if row.ExpiresAt != nil {
		expiry = row.ExpiresAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "api key %s created: client %q, scopes %s, tier %s, owner %s, expires %s\n",
		row.ID, row.Name, strings.Join(row.Scopes, ","), row.Tier, ownerText, expiry)
	fmt.Fprintln(stdout, "shown once; store it now:")
	fmt.Fprintln(stdout, key.Plaintext)
	return nil
}

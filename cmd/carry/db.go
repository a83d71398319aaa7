package main

import (
	"context"
	"fmt"

	"github.com/carry-trading/carry/pkg/pglocal"
	"github.com/carry-trading/carry/pkg/store"
)

// database is an open, migrated store and, when carry started it, the private cluster behind it.
type database struct {
	*store.Store
	cluster *pglocal.Cluster
}

// openDatabase connects to database.url (or DATABASE_URL); with neither set it starts, or attaches to, the
// private cluster in database.local_dir. It applies pending migrations.
func (a *app) openDatabase(ctx context.Context) (*database, error) {
	url := a.cfg.Database.URL.Reveal()
	db := &database{}
	if url == "" {
		c, err := pglocal.Start(ctx, pglocal.Options{Dir: a.cfg.Database.LocalDir})
		if err != nil {
			return nil, fmt.Errorf("no database.url or DATABASE_URL is set, so carry runs its own Postgres in %s, which failed: %w", a.cfg.Database.LocalDir, err)
		}
		a.log.Debug().Str("dir", a.cfg.Database.LocalDir).Msg("using the private Postgres cluster")
		db.cluster = c
		url = c.URL()
	}
	st, err := store.Open(ctx, url, store.Options{MaxConns: int32(a.cfg.Database.MaxConns), ConnectTimeout: a.cfg.Database.ConnectTimeout, Settings: a.dbSettings, Tracer: a.dbTracer})
	if err != nil {
		db.stopCluster()
		return nil, err
	}
	db.Store = st
	applied, err := st.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	for _, m := range applied {
		a.log.Info().Str("migration", m).Msg("applied migration")
	}
	return db, nil
}

// Close closes the pool. The private cluster keeps running for other carry processes; stopCluster stops
// it when this process started it (only `carry run` does, at exit).
func (db *database) Close() {
	if db.Store != nil {
		db.Store.Close()
	}
}

func (db *database) stopCluster() {
	if db.cluster != nil {
		_ = db.cluster.Stop(context.Background())
	}
}

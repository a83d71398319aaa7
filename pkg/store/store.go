// Package store is carry's Postgres persistence (pgx): the connection pool, embedded migrations applied by
// goose, and repository functions. Every insert of a venue record is idempotent on its natural key, so a
// replay or a restart never counts anything twice.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/carry-trading/carry/migrations"
)

// Store is the repository over one Postgres database.
type Store struct {
	pool *pgxpool.Pool
}

// Options tune Open.
type Options struct {
	MaxConns int32
	// ConnectTimeout bounds how long Open waits for the database to answer.
	ConnectTimeout time.Duration
	// Settings are session settings applied to every connection (e.g. synchronous_commit for backtests).
	Settings map[string]string
	// Tracer, when set, hears of every statement (pgx.QueryTracer; also pgx.BatchTracer when it implements
	// it): a backtest measures its waits on the journal with it.
	Tracer pgx.QueryTracer
}

// Open connects to url, waiting up to ConnectTimeout for the server to answer. The error says what to do.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL is not valid (%v); expected postgres://user:password@host:5432/dbname", redactErr(err))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		pgxdecimal.Register(conn.TypeMap())
		return nil
	}
	for k, v := range opts.Settings {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	cfg.ConnConfig.Tracer = opts.Tracer
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 15 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening the database pool: %w", redactErr(err))
	}
	deadline := time.Now().Add(opts.ConnectTimeout)
	for {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = pool.Ping(pctx)
		cancel()
		if err == nil {
			return &Store{pool: pool}, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			pool.Close()
			return nil, fmt.Errorf("the database at %s does not answer after %s: %w; start Postgres or fix database.url / DATABASE_URL (leave both unset to let carry run a private cluster)",
				hostOf(cfg.ConnConfig), opts.ConnectTimeout, redactErr(err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Close releases the pool.
func (s *Store) Close() { s.pool.Close() }

// Pool exposes the pool for packages that need raw access (advisory locks, LISTEN).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pinging the database: %w", err)
	}
	return nil
}

// Migrate applies every pending embedded migration. Concurrent callers (a bot and a CLI starting together)
// serialise on a Postgres advisory lock; applying twice is a no-op.
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	return migrate(ctx, db)
}

func migrate(ctx context.Context, db *sql.DB) ([]string, error) {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 120))
	if err != nil {
		return nil, fmt.Errorf("creating the migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("loading embedded migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("applying migrations: %w", err)
	}
	names := make([]string, 0, len(results))
	for _, r := range results {
		names = append(names, r.Source.Path)
	}
	return names, nil
}

// SchemaVersion is the highest applied migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, "SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	return v, nil
}

func hostOf(c *pgx.ConnConfig) string {
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}

// redactErr drops connection strings (which may hold a password) from pgx errors.
func redactErr(err error) error {
	var pe *pgconn.ConnectError
	if errors.As(err, &pe) {
		return errors.New(pe.Unwrap().Error())
	}
	var pe2 *pgconn.ParseConfigError
	if errors.As(err, &pe2) {
		return errors.New("cannot parse the connection string")
	}
	return err
}

// queryRows runs a query and reads every row with scan, in order. what names the rows in errors ("fills",
// "transitions of pair 7"). No rows is a nil slice.
func queryRows[T any](ctx context.Context, s *Store, what, sql string, args []any, scan func(pgx.Row) (T, error)) ([]T, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("reading a row of %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return out, nil
}

// IsUniqueViolation reports a unique-constraint error.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

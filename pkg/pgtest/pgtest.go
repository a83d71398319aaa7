// Package pgtest gives tests a real Postgres: the server named by DATABASE_URL, or else a throwaway local
// cluster (pkg/pglocal) started for the test binary and removed afterwards. Each test gets its own fresh,
// migrated database, so tests never see each other's rows. There are no mocks of the database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carry-trading/carry/pkg/pglocal"
	"github.com/carry-trading/carry/pkg/store"
)

// Server is a Postgres server tests may create databases on.
type Server struct {
	admin   string
	cluster *pglocal.Cluster
}

// Main runs a package's tests with a server: use it from TestMain.
//
//	var pg *pgtest.Server
//	func TestMain(m *testing.M) { pgtest.Main(m, &pg) }
func Main(m *testing.M, srv **Server) { os.Exit(Run(m, srv)) }

// Run is Main without the exit: it returns the tests' exit code, for a TestMain with checks of its own.
func Run(m *testing.M, srv **Server) int {
	s, err := Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	*srv = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
	}
	return code
}

// Start returns the DATABASE_URL server, or starts a throwaway cluster.
func Start(ctx context.Context) (*Server, error) {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return &Server{admin: u}, nil
	}
	dir, err := os.MkdirTemp("", "carrypg")
	if err != nil {
		return nil, fmt.Errorf("creating a directory for the test cluster: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	c, err := pglocal.Start(ctx, pglocal.Options{Dir: dir, Throwaway: true})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting a throwaway Postgres (set DATABASE_URL to use an existing server): %w", err)
	}
	return &Server{admin: c.AdminURL(), cluster: c}, nil
}

// Stop removes the throwaway cluster, if one was started.
func (s *Server) Stop() error {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.Remove(context.Background())
}

// NewDB creates an empty database for the test and drops it when the test ends. It returns its URL.
func (s *Server) NewDB(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	name := "carry_t_" + hex.EncodeToString(buf)
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		t.Fatalf("pgtest: connecting to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, s.admin)
		if err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(s.admin)
	if err != nil {
		t.Fatalf("pgtest: DATABASE_URL must be a URL (postgres://…): %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewStore creates a fresh database, applies the migrations and opens a store on it.
func (s *Server) NewStore(t testing.TB) (*store.Store, string) {
	t.Helper()
	dbURL := s.NewDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := store.Open(ctx, dbURL, store.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("pgtest: opening the store: %v", err)
	}
	t.Cleanup(st.Close)
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("pgtest: migrating: %v", err)
	}
	return st, dbURL
}

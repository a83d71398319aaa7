// Package pglocal runs a private PostgreSQL cluster from the machine's PostgreSQL binaries: a persistent one
// for `carry run` when no database URL is configured, and throwaway ones for tests. The server listens only
// on a Unix socket inside the cluster's directory. When the caller is root, the server runs as the
// `postgres` user, because PostgreSQL refuses to run as root.
package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configure a cluster.
type Options struct {
	// Dir holds data/, run/ (the socket) and postgres.log. It is created if missing.
	Dir string
	// Database is created if missing; default "carry".
	Database string
	// Throwaway turns durability off (fsync) for speed; use it for test clusters only.
	Throwaway bool
}

// Cluster is a running local server.
type Cluster struct {
	dir     string
	bin     string
	asUser  string // non-empty when commands run through runuser
	started bool   // false when we attached to a server that was already running
	url     string
	adminDB string
}

const port = 5432

// Start initialises the cluster if needed and starts it, or attaches to it if it already runs.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("pglocal: no directory given for the local cluster")
	}
	if opts.Database == "" {
		opts.Database = "carry"
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("pglocal: resolving %s: %w", opts.Dir, err)
	}
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, errors.New("pglocal: running as root, and PostgreSQL will not run as root, but there is no 'postgres' user; install the postgresql package (it creates one) or run carry as a normal user")
		}
		c.asUser = "postgres"
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("pglocal: creating %s: %w", filepath.Dir(dir), err)
	}
	for _, sub := range []string{"", "data", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("pglocal: creating %s: %w", filepath.Join(dir, sub), err)
		}
	}
	if c.asUser != "" {
		if out, err := exec.CommandContext(ctx, "chown", "-R", "postgres:", dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("pglocal: giving %s to the postgres user: %v: %s", dir, err, out)
		}
		if err := checkTraversable(dir); err != nil {
			return nil, err
		}
	}

	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		args := []string{"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"}
		if opts.Throwaway {
			args = append(args, "--no-sync")
		}
		if out, err := c.run(ctx, "initdb", args...); err != nil {
			return nil, fmt.Errorf("pglocal: initdb in %s failed: %v\n%s", data, err, out)
		}
	}

	c.url = (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + opts.Database,
		RawQuery: url.Values{"host": {filepath.Join(dir, "run")}, "port": {strconv.Itoa(port)}, "sslmode": {"disable"}}.Encode()}).String()
	c.adminDB = strings.Replace(c.url, "/"+opts.Database+"?", "/postgres?", 1)

	if _, err := c.run(ctx, "pg_ctl", "-D", data, "status"); err == nil {
		// Someone (another carry, a previous make run) already runs this cluster: use it, leave it running.
		c.started = false
	} else {
		serverOpts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories='%s' -p %d", filepath.Join(dir, "run"), port)
		if opts.Throwaway {
			serverOpts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
		}
		if out, err := c.run(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "postgres.log"), "-o", serverOpts, "-w", "-t", "60", "start"); err != nil {
			return nil, fmt.Errorf("pglocal: starting PostgreSQL in %s failed: %v\n%s\n(see %s)", data, err, out, filepath.Join(dir, "postgres.log"))
		}
		c.started = true
	}
	if err := c.createDatabase(ctx, opts.Database); err != nil {
		_ = c.Stop(context.Background())
		return nil, err
	}
	return c, nil
}

// URL is the connection URL of the cluster's database.
func (c *Cluster) URL() string { return c.url }

// AdminURL connects to the cluster's "postgres" database, for creating and dropping databases.
func (c *Cluster) AdminURL() string { return c.adminDB }

// Stop shuts the server down if this Cluster started it.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.started {
		return nil
	}
	c.started = false
	if out, err := c.run(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pglocal: stopping PostgreSQL: %v: %s", err, out)
	}
	return nil
}

// Remove stops the server and deletes the cluster's directory.
func (c *Cluster) Remove(ctx context.Context) error {
	stopErr := c.Stop(ctx)
	if err := os.RemoveAll(c.dir); err != nil {
		return errors.Join(stopErr, fmt.Errorf("pglocal: removing %s: %w", c.dir, err))
	}
	return stopErr
}

func (c *Cluster) createDatabase(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.adminDB)
	if err != nil {
		return fmt.Errorf("pglocal: connecting to the local cluster: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("pglocal: checking database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("pglocal: creating database %s: %w", name, err)
	}
	return nil
}

func (c *Cluster) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, tool)
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// FindBinaries returns the directory holding initdb, pg_ctl and postgres: the one on PATH, else the newest
// under /usr/lib/postgresql.
func FindBinaries() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	return "", errors.New("pglocal: PostgreSQL binaries (initdb, pg_ctl) not found; install them (Debian: apt-get install postgresql, or run scripts/ensure-postgres.sh) or set DATABASE_URL to an existing database")
}

func versionOf(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

// checkTraversable makes sure the postgres user can reach dir through its parents.
func checkTraversable(dir string) error {
	for d := filepath.Dir(dir); d != "/" && d != "."; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pglocal: %w", err)
		}
		if info.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("pglocal: the postgres user cannot enter %s (mode %04o), which holds the cluster directory %s; run chmod o+x %s or set database.local_dir elsewhere", d, info.Mode().Perm(), dir, d)
		}
	}
	return nil
}

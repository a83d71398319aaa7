package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrLocked: another process holds the account's trader lock.
var ErrLocked = errors.New("another carry process is trading this account")

// AccountLock is the one-trader-per-account lock: a Postgres session advisory lock held on a dedicated
// connection. If that connection is lost the lock is gone too, so Lost is closed and the holder must stop
// trading.
type AccountLock struct {
	conn   *pgxpool.Conn
	key    int64
	lost   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// LockKey is the advisory lock key of an account: a hash of its name and mode.
func LockKey(name, mode string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("carry/" + mode + "/" + name))
	return int64(h.Sum64())
}

// TryLockAccount takes the account's trader lock without waiting; ErrLocked when someone holds it.
func (s *Store) TryLockAccount(ctx context.Context, name, mode string) (*AccountLock, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("taking the account lock: %w", err)
	}
	key := LockKey(name, mode)
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("taking the account lock: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, fmt.Errorf("account %s (%s mode): %w", name, mode, ErrLocked)
	}
	wctx, cancel := context.WithCancel(context.Background())
	l := &AccountLock{conn: conn, key: key, lost: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	go l.watch(wctx)
	return l, nil
}

// AccountLocked reports whether some session holds the account's trader lock (a running bot, or a CLI
// carrying a command out itself), without taking it: it reads pg_locks, so a bot starting at the same moment
// is never refused because of the check. Postgres shows a bigint advisory key as its high half in classid
// and its low half in objid, with objsubid 1; the lock is per database, like the key.
func (s *Store) AccountLocked(ctx context.Context, name, mode string) (bool, error) {
	key := uint64(LockKey(name, mode))
	var held bool
	err := s.pool.QueryRow(ctx, `
		SELECT EXISTS (
			SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND objsubid = 1
			  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			  AND classid::bigint = $1 AND objid::bigint = $2)`,
		int64(key>>32), int64(key&0xffffffff)).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("checking the account lock of %s (%s mode): %w", name, mode, err)
	}
	return held, nil
}

// Lost is closed when the lock's connection fails.
func (l *AccountLock) Lost() <-chan struct{} { return l.lost }

func (l *AccountLock) watch(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := l.conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				close(l.lost)
				return
			}
		}
	}
}

// Unlock releases the lock and its connection.
func (l *AccountLock) Unlock(ctx context.Context) {
	l.cancel()
	<-l.done
	select {
	case <-l.lost:
		l.conn.Conn().Close(ctx) // broken: do not return it to the pool
	default:
		_, _ = l.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.key)
	}
	l.conn.Release()
}

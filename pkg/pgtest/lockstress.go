package pgtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/carry-trading/carry/pkg/store"
)

// CheckProbeNeverRefusesABot runs probe (a check for a running bot, which must never take the account lock
// itself) from 4 goroutines over and over while bot starts and stops on the account for a second. The test
// fails if a start was ever refused (store.ErrLocked), if none happened, or if a probe failed.
func CheckProbeNeverRefusesABot(t *testing.T, bot *store.Store, name, mode string, probe func(context.Context) error) {
	t.Helper()
	ctx := context.Background()
	var refused, starts int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := probe(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		l, err := bot.TryLockAccount(ctx, name, mode)
		if errors.Is(err, store.ErrLocked) {
			refused++
			continue
		}
		if err != nil {
			t.Error(err)
			break
		}
		starts++
		l.Unlock(ctx)
	}
	close(stop)
	wg.Wait()
	if refused != 0 || starts == 0 {
		t.Fatalf("a starting bot was refused %d times (started %d) while the probe checked for a running bot", refused, starts)
	}
}

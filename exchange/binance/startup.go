package binance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/futures"
)

// CheckAccount runs the live start-up checks and returns an error wrapping ErrRefused, with a message that
// says what to fix, when carry must not trade with this key:
//
//   - the key works (a rejected key names the environment variables, the IP whitelist and futures);
//   - the local clock is within MaxClockSkew of Binance's (/api/v3/time); the measured offset is kept;
//   - the key cannot withdraw (apiRestrictions.enableWithdrawals), can read, trade spot and trade futures;
//   - the futures account answers (futures enabled) and is in one-way position mode (switched if possible).
//
// A key without universal-transfer permission or without an IP whitelist is logged as a warning.
func (c *Client) CheckAccount(ctx context.Context) error {
	if !c.cfg.HasKey() {
		return fmt.Errorf("%w: %w", ErrRefused, ErrNoCredentials)
	}
	if err := c.CheckClock(ctx); err != nil {
		return err
	}
	var perm *binance.APIKeyPermission
	err := c.do(ctx, "API key permissions", true, func(ctx context.Context, a *apis) error {
		var err error
		perm, err = a.spot.NewGetAPIKeyPermission().Do(ctx, binance.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return refuse(err)
	}
	switch {
	case perm.EnableWithdrawals:
		return fmt.Errorf("%w: this API key can WITHDRAW funds. carry never withdraws, and a leaked key that can withdraw "+
			"can empty the account: create a new key in Binance → API Management with withdrawals disabled (reading, spot "+
			"trading, futures and universal transfer only, restricted to this server's IP) and set it in "+
			"CARRY_ACCOUNT_API_KEY / CARRY_ACCOUNT_API_SECRET", ErrRefused)
	case !perm.EnableReading:
		return fmt.Errorf("%w: the API key cannot read the account: enable \"Enable Reading\" on the key", ErrRefused)
	case !perm.EnableSpotAndMarginTrading:
		return fmt.Errorf("%w: the API key cannot trade spot: enable \"Enable Spot & Margin Trading\" on the key", ErrRefused)
	case !perm.EnableFutures:
		return fmt.Errorf("%w: the API key cannot trade futures: open a USDⓈ-M futures account on Binance, then enable \"Enable Futures\" on the key "+
			"(keys created before futures was opened must be edited or recreated)", ErrRefused)
	}
	if !perm.PermitsUniversalTransfer {
		c.log.Warn().Msg("binance: the API key cannot make universal transfers: carry cannot top up futures margin from spot; enable \"Permits Universal Transfer\" (needs an IP whitelist)")
	}
	if !perm.IPRestrict {
		c.log.Warn().Msg("binance: the API key is not restricted to trusted IPs: restrict it to this server's IP in Binance → API Management")
	}
	var cfg *futures.AccountConfig
	err = c.do(ctx, "futures account config", true, func(ctx context.Context, a *apis) error {
		var err error
		cfg, err = a.fut.NewGetAccountConfigService().Do(ctx, futures.WithRecvWindow(c.recvWindow()))
		return err
	})
	if err != nil {
		return refuse(fmt.Errorf("%w (is futures enabled on the account and the key?)", err))
	}
	if !cfg.CanTrade {
		return fmt.Errorf("%w: the futures account cannot trade (canTrade=false): check the account's futures status on Binance", ErrRefused)
	}
	if cfg.MultiAssetsMargin {
		c.log.Warn().Msg("binance: the futures account is in multi-assets margin mode; carry's margin and liquidation math assumes single-asset mode")
	}
	if cfg.DualSidePosition {
		if err := c.ensureOneWay(ctx); err != nil {
			return refuse(err)
		}
	}
	return nil
}

// CheckClock measures the clock offset against Binance (and keeps it for signing) and refuses when it is
// larger than MaxClockSkew.
func (c *Client) CheckClock(ctx context.Context) error {
	if err := c.SyncTime(ctx); err != nil {
		return fmt.Errorf("binance clock check: %w", err)
	}
	spot, fut := c.Offsets()
	skew := max(spot.Abs(), fut.Abs())
	if skew > c.cfg.MaxClockSkew {
		return fmt.Errorf("%w: this machine's clock is %s off Binance's (at most %s is allowed, and signed requests fail outside "+
			"recvWindow): enable time synchronisation, e.g. `sudo timedatectl set-ntp true` or install chrony "+
			"(`sudo apt-get install chrony`), then check with `chronyc tracking`", ErrRefused, skew.Round(time.Millisecond), c.cfg.MaxClockSkew)
	}
	return nil
}

// refuse marks an error that stops a live start: Binance's definite answer about the key or the account.
// A check that could not complete (network, timeout, rate limit, Binance's 10xx server and network codes)
// is not a refusal: the start fails as an ordinary error, which a supervisor retries.
func refuse(err error) error {
	if errors.Is(err, ErrRefused) {
		return err
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if a, ok := apiError(err); ok && a.Code != 0 && (a.Code == codeTimestamp || a.Code > -1000 || a.Code < -1099) {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return fmt.Errorf("the start-up check of the API key could not complete (Binance unreachable or failing; nothing was decided about the key): %w", err)
}

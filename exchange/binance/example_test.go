package binance_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/exchange/binance"
	"github.com/carry-trading/carry/exchange/binance/fakebinance"
)

// The composition root's wiring, against the fake (a live run uses the production URLs and the key from
// CARRY_ACCOUNT_API_KEY / CARRY_ACCOUNT_API_SECRET).
func Example() {
	srv, err := fakebinance.Start(fakebinance.Options{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	num := decimal.RequireFromString
	_ = srv.SetBook(exchange.Spot, "BTCUSDT", num("60000"), num("1"), num("60000.01"), num("1"))
	_ = srv.SetBook(exchange.Futures, "BTCUSDT", num("60010"), num("1"), num("60010.1"), num("1"))
	_ = srv.SetMark("BTCUSDT", num("60005"), num("60000"), num("0.0001"), time.Time{})
	_ = srv.SetBalance(exchange.Futures, "USDT", num("1000"))

	u := srv.URLs()
	client, err := binance.New(binance.Config{
		SpotRESTURL: u.SpotREST, FuturesRESTURL: u.FuturesREST, SpotWSURL: u.SpotWS, SpotWSAPIURL: u.SpotWSAPI, FuturesWSURL: u.FuturesWS,
		APIKey: srv.APIKey(), APISecret: srv.APISecret(),
	}, zerolog.Nop())
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.CheckAccount(ctx); err != nil { // live start-up: refuse to run on a bad key or clock
		panic(err)
	}
	feed, err := client.MarketFeed(ctx, []string{"BTCUSDT"})
	if err != nil {
		panic(err)
	}
	defer feed.Close()
	for i := 0; i < 3; i++ {
		ev, err := feed.Next(ctx)
		if err != nil {
			panic(err)
		}
		switch ev.Kind {
		case exchange.EventQuote:
			fmt.Println(ev.Kind, ev.Venue, ev.Symbol, ev.Quote.Bid, ev.Quote.Ask)
		case exchange.EventMark:
			fmt.Println(ev.Kind, ev.Symbol, ev.Mark.Mark, ev.Mark.EstimatedRate)
		}
	}
	fees, _ := client.Commission(ctx, exchange.Futures, "BTCUSDT")
	fmt.Println("futures taker", fees.Taker)
	// Output:
	// quote spot BTCUSDT 60000 60000.01
	// quote futures BTCUSDT 60010 60010.1
	// mark BTCUSDT 60005 0.0001
	// futures taker 0.0005
}

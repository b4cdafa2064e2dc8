// Command sentrygo is Debian's sentry-go SDK (golang-github-getsentry-sentry-go-dev, unmodified)
// for the collector's integration test t27, built offline with GO111MODULE=off and
// GOPATH=<tmp>:/usr/share/gocode.
//
// Environment: SENTRY_DSN, REL, ENV_NAME, MARK. Sends CaptureException of an error returned
// by chargeCard (the SDK attaches the current stack), a recovered panic from lookupItem
// (sentry.Recover path), and a CaptureMessage, with the stock HTTP transport whose
// RoundTripper is observed; flushes and prints {"statuses": [...]} — the HTTP codes the
// server answered. Exits 1 if the flush timed out or any request was not 2xx.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/getsentry/sentry-go"
)

type recorder struct {
	mu       sync.Mutex
	statuses []int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.statuses = append(r.statuses, 0)
	} else {
		r.statuses = append(r.statuses, resp.StatusCode)
	}
	return resp, err
}

func chargeCard(amount int) error {
	if amount < 0 {
		return errors.New("amount must not be negative: " + os.Getenv("MARK"))
	}
	return nil
}

func lookupItem(items []string, i int) (item string) {
	defer func() {
		if r := recover(); r != nil {
			sentry.CurrentHub().Recover(fmt.Errorf("lookup panicked (%s): %v", os.Getenv("MARK"), r))
			item = ""
		}
	}()
	return items[i]
}

func main() {
	rec := &recorder{}
	err := sentry.Init(sentry.ClientOptions{
		Dsn:           os.Getenv("SENTRY_DSN"),
		Release:       os.Getenv("REL"),
		Environment:   os.Getenv("ENV_NAME"),
		HTTPTransport: rec,
		Debug:         os.Getenv("SENTRY_DEBUG") == "1",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sentry.Init:", err)
		os.Exit(2)
	}
	sentry.CaptureException(chargeCard(-5))
	lookupItem([]string{"a"}, 3)
	sentry.CaptureMessage("go worker started " + os.Getenv("MARK"))
	ok := sentry.Flush(10 * time.Second)
	rec.mu.Lock()
	out, _ := json.Marshal(map[string]interface{}{"statuses": rec.statuses, "flushed": ok})
	fmt.Println(string(out))
	bad := !ok || len(rec.statuses) == 0
	for _, s := range rec.statuses {
		if s < 200 || s >= 300 {
			bad = true
		}
	}
	rec.mu.Unlock()
	if bad {
		os.Exit(1)
	}
}

// Command ferretdb runs an embedded FerretDB v1 (PostgreSQL backend) for the local stack.
//
// It wraps the embeddable github.com/FerretDB/FerretDB/ferretdb package, so no
// version files are needed and telemetry is disabled. With --debug-addr it also
// serves FerretDB's Prometheus metrics on /debug/metrics, as the ferretdb command's
// debug handler does (the embeddable package opens no such listener): connected
// clients, requests and responses by command, the PostgreSQL handler's pool, Go and
// process metrics. The local Prometheus scrapes them (job ferretdb).
// The data lives in the PostgreSQL database named by --postgresql-url (one
// PostgreSQL schema per MongoDB database); devstack starts that PostgreSQL.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"syscall"
	"time"
	"unsafe"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// listenerCollector returns FerretDB's listener, the prometheus.Collector of its
// connection, request and handler metrics that the ferretdb command registers. The
// embeddable package keeps it in the unexported field l of *ferretdb.FerretDB, so it
// is read by reflection; FerretDB is pinned (go.mod), and a version without that
// field serves the Go and process metrics only (logged), never fails to start.
func listenerCollector(f *ferretdb.FerretDB) (prometheus.Collector, bool) {
	v := reflect.ValueOf(f).Elem().FieldByName("l")
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, false
	}
	c, ok := reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().Interface().(prometheus.Collector)
	return c, ok
}

// serveMetrics serves /debug/metrics on addr (the ferretdb command's path) until ctx ends.
func serveMetrics(ctx context.Context, addr string, f *ferretdb.FerretDB, logger *slog.Logger) error {
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if c, ok := listenerCollector(f); ok {
		registry.MustRegister(c)
	} else {
		logger.Warn("FerretDB's listener metrics not found: serving Go and process metrics only")
	}

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}))
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()
	go func() {
		if err := server.Serve(lis); err != nil && err != http.ErrServerClosed {
			logger.Error("debug handler stopped", "error", err)
		}
	}()
	return nil
}

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "MongoDB wire protocol TCP listen address")
	postgresqlURL := flag.String("postgresql-url", "postgres://postgres@127.0.0.1:5432/ferretdb",
		"PostgreSQL connection string (pgx format); the database must exist")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	debugAddr := flag.String("debug-addr", "", "listen address of the metrics handler (/debug/metrics); empty: none")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "invalid --log-level %q: %s\n", *logLevel, err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: *postgresqlURL,
	})
	if err != nil {
		logger.Error("cannot start FerretDB", "error", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if *debugAddr != "" {
		if err = serveMetrics(ctx, *debugAddr, f, logger); err != nil {
			logger.Error("cannot start the debug handler", "addr", *debugAddr, "error", err)
			os.Exit(1)
		}
		logger.Info("FerretDB metrics", "url", "http://"+*debugAddr+"/debug/metrics")
	}

	logger.Info("FerretDB listening", "addr", *listenAddr, "handler", "postgresql")
	if err = f.Run(ctx); err != nil {
		logger.Error("FerretDB stopped with error", "error", err)
		os.Exit(1)
	}
	logger.Info("FerretDB stopped")
}

// Command ferretdb runs an embedded FerretDB v1 (PostgreSQL backend) for the local stack.
//
// It wraps the embeddable github.com/FerretDB/FerretDB/ferretdb package, so no
// version files are needed, telemetry is disabled and no debug/metrics HTTP
// listener is opened: the only port is the MongoDB wire protocol listener.
// The data lives in the PostgreSQL database named by --postgresql-url (one
// PostgreSQL schema per MongoDB database); devstack starts that PostgreSQL.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "MongoDB wire protocol TCP listen address")
	postgresqlURL := flag.String("postgresql-url", "postgres://postgres@127.0.0.1:5432/ferretdb",
		"PostgreSQL connection string (pgx format); the database must exist")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
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

	logger.Info("FerretDB listening", "addr", *listenAddr, "handler", "postgresql")
	if err = f.Run(ctx); err != nil {
		logger.Error("FerretDB stopped with error", "error", err)
		os.Exit(1)
	}
	logger.Info("FerretDB stopped")
}

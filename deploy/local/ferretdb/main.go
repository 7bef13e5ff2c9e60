// Command ferretdb runs an embedded FerretDB v1 (SQLite backend) for the local stack.
//
// It wraps the embeddable github.com/FerretDB/FerretDB/ferretdb package, so no
// version files are needed, telemetry is disabled and no debug/metrics HTTP
// listener is opened: the only port is the MongoDB wire protocol listener.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "MongoDB wire protocol TCP listen address")
	dataDir := flag.String("data-dir", "data", "directory holding the SQLite database files")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "invalid --log-level %q: %s\n", *logLevel, err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		logger.Error("bad data dir", "error", err)
		os.Exit(1)
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		logger.Error("cannot create data dir", "error", err)
		os.Exit(1)
	}
	if !strings.HasSuffix(dir, "/") {
		dir += "/"
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir,
	})
	if err != nil {
		logger.Error("cannot start FerretDB", "error", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	logger.Info("FerretDB listening", "addr", *listenAddr, "data_dir", dir)
	if err = f.Run(ctx); err != nil {
		logger.Error("FerretDB stopped with error", "error", err)
		os.Exit(1)
	}
	logger.Info("FerretDB stopped")
}

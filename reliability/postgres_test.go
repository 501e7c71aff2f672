package reliability

import (
	"path/filepath"
	"testing"

	"github.com/tenderpay/tender/internal/testserver"
)

func TestCrash_SIGKILL_Postgres(t *testing.T) {
	url := testserver.PostgresURL(t)
	dir := t.TempDir()
	runCrash(t, url, []string{"--secret-file", filepath.Join(dir, "tender.secret")}, dir)
}

func TestBadInput_Postgres(t *testing.T) {
	runBadInput(t, testserver.Start(t, testserver.Options{Postgres: true}))
}

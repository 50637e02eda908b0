package engine_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: River
// clients stopped, servers and stores closed, webhook posts done.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

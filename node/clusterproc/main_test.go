package clusterproc

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// rows are the chaos scenarios' rows, printed together at the end.
var (
	rowsMu sync.Mutex
	rows   []Row
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if len(rows) > 0 {
			fmt.Println("\nchaos scenarios, each checked once the cluster was whole again:")
			WriteRows(os.Stdout, rows)
		}
		RemoveBuild()
		os.Exit(code)
	}))
}

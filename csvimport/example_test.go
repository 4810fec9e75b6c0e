package csvimport_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/longtailhq/longtail/csvimport"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/internal/redistest"
)

func ExampleImport() {
	rdb, stop := exampleRedis()
	defer stop()
	ctx := context.Background()
	store, err := directory.New(rdb, directory.Config{})
	if err != nil {
		panic(err)
	}
	// Partners first: a contact's partner must exist.
	if _, _, err := store.PutPartner(ctx, directory.Partner{ID: "acme", Name: "Acme IT", Type: "msp", Country: "FR"}); err != nil {
		panic(err)
	}
	report, err := csvimport.Import(ctx, store, csvimport.KindContacts, strings.NewReader(
		"email,partner_id,first_name,persona,locale\n"+
			"Jane@Acme.example,acme,Jane,technical,fr\n"+
			"bad-address,acme,Joe,sales,en\n"),
		csvimport.Options{Name: "contacts.csv"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("imported %d, rejected %d\n", report.Imported, report.Rejected)
	for _, e := range report.Errors {
		fmt.Printf("contacts.csv:%d: %s\n", e.Line, e.Reason)
	}
	c, err := store.LookupContact(ctx, "jane@acme.example")
	if err != nil {
		panic(err)
	}
	fmt.Println(c.ID, c.PartnerID, c.FirstName, c.Persona, c.Locale, c.Consent)
	// Output:
	// imported 1, rejected 1
	// contacts.csv:3: invalid email: "bad-address" is not a valid address
	// c_cd5decc91f7ef6fe acme Jane technical fr unknown
}

// exampleRedis starts a throw-away redis-server for the example, which has
// no *testing.T to hand to redistest.New, and returns once the server says
// it accepts connections.
func exampleRedis() (*redis.Client, func()) {
	bin, err := redistest.Binary()
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "ltex")
	if err != nil {
		panic(err)
	}
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--dir", dir, "--save", "", "--appendonly", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		panic(err)
	}
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		os.RemoveAll(dir)
	}
	// "Ready to accept connections" (7.2 and later), "The server is now
	// ready to accept connections" (7.0).
	lines := bufio.NewScanner(out)
	ready := false
	for !ready && lines.Scan() {
		ready = strings.Contains(strings.ToLower(lines.Text()), "ready to accept connections")
	}
	if !ready {
		stop()
		panic(fmt.Sprintf("redis-server exited before it was ready: %v", lines.Err()))
	}
	go func() { // keep the pipe drained, so the server never blocks on a log line
		for lines.Scan() {
		}
	}()
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: sock})
	return rdb, func() {
		rdb.Close()
		stop()
	}
}

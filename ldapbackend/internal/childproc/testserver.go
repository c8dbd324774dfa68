package childproc

import "time"

// TestServer describes a kind of server to childproctest.StartT.
type TestServer struct {
	Name         string        // in messages, e.g. "389 Directory Server"
	Program      string        // prefixes the program's output in the test log
	Slow         time.Duration // a start or stop that takes longer is logged
	NotInstalled error         // what start returns (wrapped) when the server is not installed
	Install      string        // what `make test` installs, e.g. "389-ds-base"
}

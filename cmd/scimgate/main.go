// Command scimgate is the SCIM 2.0 gateway to an LDAP directory, and the
// tools around it: ACI lint and evaluation, and development tokens.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `scimgate: a SCIM 2.0 server in front of an LDAP directory, guarded by ACIs.

Usage:
  scimgate serve [--config FILE] [--check]  run the SCIM server (or only validate its configuration)
  scimgate aci lint FILE...                  check ACIs (one a line, or LDIF)
  scimgate aci eval --ldif TREE --requests R  decide access requests, with explanations
  scimgate demo                              a private slapd with demo data and the server (make run)
  scimgate token --scope "..." --sub NAME    sign a development token with the demo key
  scimgate vlv-indexes [--config FILE]       print the 389 DS browsing indexes of the listings (ldap.browsing_indexes)
  scimgate help                              this text

Run "scimgate COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit status: 0 success,
// 1 the command found problems (lint errors), 2 bad usage or input.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "aci":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		switch args[1] {
		case "lint":
			return aciLint(args[2:], stdout, stderr)
		case "eval":
			return aciEval(args[2:], stdin, stdout, stderr)
		}
	case "token":
		return tokenCmd(args[1:], stdout, stderr)
	case "serve":
		return serveCmd(args[1:], stdout, stderr)
	case "demo":
		return demoCmd(args[1:], stdout, stderr)
	case "vlv-indexes":
		return vlvIndexesCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "scimgate: unknown command %q\n\n%s", args[0], usage)
	return 2
}

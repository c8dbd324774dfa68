package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/scimgate/scimgate/aci"
	"github.com/scimgate/scimgate/aci/acieval"
	"github.com/scimgate/scimgate/aci/ldapfilter"
	"github.com/scimgate/scimgate/aci/ldif"
)

func aciLint(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("aci lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	strict := fs.Bool("strict", false, "treat warnings as errors")
	cfgPath := fs.String("config", "", "scimgate configuration whose identity filter and search base the identity check uses (none when its mapping is disabled)")
	var idAttrs []string
	idSet := false
	fs.Func("identity-attr", `attribute token subjects are mapped by, which users must not write; repeatable or comma-separated, "" for none (default: uid, or those of --config's identity filter)`, func(v string) error {
		idSet = true
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				idAttrs = append(idAttrs, a)
			}
		}
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scimgate aci lint [--strict] [--config FILE] [--identity-attr ATTR]... FILE...\n\nChecks ACIs, one a line or as aci values in LDIF. Prints FILE:line:col: message\nfor every error and warning; exits 1 when it finds errors.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	ident, err := lintIdentity(*cfgPath, idAttrs, idSet)
	if err != nil {
		fmt.Fprintf(stderr, "aci lint: %v\n", err)
		return 2
	}
	errs, warns := 0, 0
	for _, path := range fs.Args() {
		e, w, err := lintFile(path, stdout, ident)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			return 2
		}
		errs, warns = errs+e, warns+w
	}
	fmt.Fprintf(stderr, "%d error(s), %d warning(s)\n", errs, warns)
	if errs > 0 || *strict && warns > 0 {
		return 1
	}
	return 0
}

// lintIdentity works out which identity attributes lint checks, and under
// which base: those of the configuration at cfgPath if given (none in the
// disabled mode), else uid, the default filter's; attrs replace them when
// set (the --identity-attr flag).
func lintIdentity(cfgPath string, attrs []string, set bool) (aci.LintContext, error) {
	ident := aci.LintContext{IdentityAttrs: []string{"uid"}}
	if cfgPath != "" {
		cfg, err := loadConfig(cfgPath)
		if err != nil {
			return ident, err
		}
		ident.IdentityAttrs = nil
		if cfg.Mapping != "disabled" {
			if ident.IdentityAttrs, err = cfg.Identity.SubjectAttributes(); err != nil {
				return ident, fmt.Errorf("%s: identity.filter: %v", cfgPath, err)
			}
			if ident.IdentityBase, err = ldapfilter.NormalizeDN(cfg.Identity.SearchBase); err != nil {
				return ident, fmt.Errorf("%s: identity.search_base: %v", cfgPath, err)
			}
		}
	}
	if set {
		ident.IdentityAttrs = attrs
	}
	return ident, nil
}

// lintFile lints one file and prints its findings; ident carries the
// identity attributes and base into every LintContext.
func lintFile(path string, out io.Writer, ident aci.LintContext) (errs, warns int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	if isLDIF(data) {
		return lintLDIF(path, data, out, ident)
	}
	lines, err := acieval.ReadACILines(path)
	if err != nil {
		return 0, 0, err
	}
	for _, l := range lines {
		a, perr := aci.ParseAt(path, l.Text, aci.Pos{Line: l.No, Col: l.Col})
		if perr != nil {
			errs += printParseErrors(out, perr, nil)
			continue
		}
		for _, w := range aci.Lint(a, aci.LintContext{Global: true, IdentityAttrs: ident.IdentityAttrs, IdentityBase: ident.IdentityBase}) {
			fmt.Fprintf(out, "%s:%d:%d: warning: %s\n", path, w.Pos.Line, w.Pos.Col, w.Msg)
			warns++
		}
	}
	return errs, warns, nil
}

func isLDIF(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		lt := strings.ToLower(t)
		return strings.HasPrefix(lt, "dn:") || strings.HasPrefix(lt, "version:")
	}
	return false
}

func printParseErrors(out io.Writer, err error, mapPos func(aci.Pos) aci.Pos) int {
	var list aci.ErrorList
	if !errors.As(err, &list) {
		fmt.Fprintln(out, err)
		return 1
	}
	for _, e := range list {
		if mapPos != nil {
			e.Pos = mapPos(e.Pos)
		}
		fmt.Fprintln(out, e.Error())
	}
	return len(list)
}

func lintLDIF(path string, data []byte, out io.Writer, ident aci.LintContext) (errs, warns int, err error) {
	recs, err := ldif.Parse(bytes.NewReader(data))
	if err != nil {
		return 0, 0, err
	}
	ndns := make([]string, len(recs))
	derrs := make([]error, len(recs))
	dns := map[string]bool{}
	for i, r := range recs {
		if ndns[i], derrs[i] = ldapfilter.NormalizeDN(r.DN); derrs[i] == nil {
			dns[ndns[i]] = true
		}
	}
	for ri, r := range recs {
		ndn, derr := ndns[ri], derrs[ri]
		for i := range r.Attrs {
			at := &r.Attrs[i]
			if !strings.EqualFold(at.Name, "aci") {
				continue
			}
			line, col := at.Position(0)
			if derr != nil {
				fmt.Fprintf(out, "%s:%d: invalid DN %q: %v\n", path, r.Line, r.DN, derr)
				errs++
				break
			}
			mapPos := func(p aci.Pos) aci.Pos {
				l, c := at.Position(p.Col - 1)
				return aci.Pos{Line: l, Col: c}
			}
			a, perr := aci.ParseAt(path, at.Value, aci.Pos{Line: 1, Col: 1})
			if perr != nil {
				errs += printParseErrors(out, perr, mapPos)
				continue
			}
			if _, cerr := aci.Compile(a, ndn, false); cerr != nil {
				fmt.Fprintf(out, "%s:%d:%d: %v\n", path, line, col, stripPos(cerr))
				errs++
				continue
			}
			suffix := !dns[ldapfilter.ParentDN(ndn)]
			for _, w := range aci.Lint(a, aci.LintContext{EntryDN: ndn, Suffix: suffix, IdentityAttrs: ident.IdentityAttrs, IdentityBase: ident.IdentityBase}) {
				p := mapPos(w.Pos)
				fmt.Fprintf(out, "%s:%d:%d: warning: %s\n", path, p.Line, p.Col, w.Msg)
				warns++
			}
		}
	}
	return errs, warns, nil
}

// stripPos drops the "line:col: " an ACI compile error starts with; the
// caller prints the position of the value in the file instead.
func stripPos(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": "); i > 0 && strings.Count(s[:i], ":") == 1 {
		return s[i+2:]
	}
	return s
}

func aciEval(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("aci eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ldifPath := fs.String("ldif", "", "LDIF file with the entries, their aci values, groups and users")
	var live liveFlags
	live.register(fs)
	reqPath := fs.String("requests", "", `JSON-lines file of requests ("-" = standard input); without it, one request from the flags below`)
	globalPath := fs.String("global", "", "file of global ACIs, one a line")
	one := acieval.Request{}
	fs.StringVar(&one.BindDN, "bind-dn", "", "bind DN of the subject (empty = anonymous)")
	fs.StringVar(&one.TargetDN, "target-dn", "", "DN of the target entry")
	fs.StringVar(&one.Right, "right", "read", "read|search|compare|write|selfwrite|add|delete|import|export|proxy")
	fs.StringVar(&one.Attr, "attr", "", "attribute (empty = entry level)")
	value := fs.String("value", "", "value written or compared")
	scopes := fs.String("scopes", "", `space-separated token scopes; "-" = a token with no scopes; unset = no token`)
	fs.StringVar(&one.IP, "ip", "127.0.0.1", "client IP address")
	fs.StringVar(&one.AuthMethod, "authmethod", "", "none|simple|ssl|\"sasl MECH\"")
	fs.BoolVar(&one.Secure, "secure", false, "the connection is secure")
	fs.StringVar(&one.Time, "time", "", "RFC 3339 time (default now)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scimgate aci eval (--ldif TREE.ldif | --ldap-url URL --ldap-bind-dn DN --ldap-password-file F --ldap-base DN)\n       [--global FILE] (--requests REQS.jsonl | request flags)\n\nPrints one JSON line per request: its decision (allow|deny) and the explanation.\nWith --ldap-url the ACIs, entries and groups come from the live directory.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*ldifPath == "") == (live.url == "") {
		fmt.Fprintln(stderr, "aci eval: give exactly one of --ldif and --ldap-url")
		fs.Usage()
		return 2
	}
	var globals []string
	if *globalPath != "" {
		lines, err := acieval.ReadACILines(*globalPath)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", *globalPath, err)
			return 2
		}
		for _, l := range lines {
			globals = append(globals, l.Text)
		}
	}
	var env *acieval.Env
	if live.url != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var closeFn func()
		var err error
		env, closeFn, err = live.env(ctx, globals)
		if err != nil {
			fmt.Fprintf(stderr, "aci eval: %v\n", err)
			return 2
		}
		defer closeFn()
	} else {
		tree, err := acieval.LoadTree(*ldifPath)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", *ldifPath, err)
			return 2
		}
		if env, err = acieval.NewEnv(tree, globals); err != nil {
			fmt.Fprintf(stderr, "invalid ACIs, nothing evaluated:\n%v\n", err)
			return 2
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if *reqPath == "" {
		if one.TargetDN == "" {
			fmt.Fprintln(stderr, "aci eval: --target-dn or --requests is required")
			return 2
		}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "value":
				one.Value = value
			case "scopes":
				list := strings.Fields(*scopes)
				if *scopes == "-" {
					list = []string{}
				}
				one.Scopes, _ = json.Marshal(list)
			}
		})
		_ = enc.Encode(env.Eval(1, &one))
		return 0
	}
	var in io.Reader = stdin
	if *reqPath != "-" {
		f, err := os.Open(*reqPath)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	no := 0
	for sc.Scan() {
		no++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		r, err := acieval.Decode(line)
		if err != nil {
			_ = enc.Encode(acieval.Result{Line: no, Decision: "deny", Error: err.Error()})
			continue
		}
		_ = enc.Encode(env.Eval(no, r))
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 2
	}
	return 0
}

package slapd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// seedFile is one seed LDIF read into memory.
type seedFile struct {
	path string
	src  []byte
	recs []ldifRecord
}

// loadSeeds reads and checks the seed files: content records only, as slapadd wants.
func loadSeeds(paths []string) ([]seedFile, error) {
	var out []seedFile
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
		recs, err := parseLDIF(p, src)
		if err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
		for _, r := range recs {
			if r.changeType != "" {
				return nil, fmt.Errorf("seed: %s:%d: changetype %q: seed files hold entries only", p, r.line, r.changeType)
			}
		}
		out = append(out, seedFile{path: p, src: src, recs: recs})
	}
	return out, nil
}

// withMemberOf returns, for each seed, its text with memberOf values added to the entries
// that the seeds' groupOfNames entries list as members, or nil when the seed needs none.
// slapadd runs no overlay, so without this the memberof overlay's attribute would be missing
// on every seeded member until its group changed. Values already present are kept and not
// repeated.
func withMemberOf(seeds []seedFile) [][]byte {
	groupsOf := map[string][]string{} // member key -> group DNs as written
	for _, s := range seeds {
		for _, r := range s.recs {
			if !r.hasObjectClass("groupOfNames") {
				continue
			}
			for _, m := range r.values("member") {
				k := dnKey(m)
				groupsOf[k] = append(groupsOf[k], r.dn)
			}
		}
	}
	out := make([][]byte, len(seeds))
	for i, s := range seeds {
		var b bytes.Buffer
		prev := 0
		for _, r := range s.recs {
			groups := groupsOf[dnKey(r.dn)]
			if len(groups) == 0 {
				continue
			}
			if b.Len() == 0 {
				b.Grow(len(s.src) + len(s.src)/8)
			}
			b.Write(s.src[prev:r.end])
			prev = r.end
			if r.end > 0 && s.src[r.end-1] != '\n' {
				b.WriteByte('\n')
			}
			have := map[string]bool{}
			for _, v := range r.values("memberOf") {
				have[dnKey(v)] = true
			}
			for _, g := range groups {
				if k := dnKey(g); !have[k] {
					have[k] = true
					writeAttrLine(&b, "memberOf", g)
				}
			}
		}
		if prev == 0 {
			continue
		}
		b.Write(s.src[prev:])
		out[i] = b.Bytes()
	}
	return out
}

// slapadd loads the seeds into the database configured by conf, one slapadd run per file, in
// order. -q skips consistency checks (the database is new and the load is all or nothing),
// -w writes the syncrepl context CSN so that syncprov starts from the loaded state.
// slapadd itself adds entryUUID, entryCSN and the timestamps where the seeds have none.
func slapadd(ctx context.Context, o Options, dir, conf string, seeds []seedFile) error {
	var rewritten [][]byte
	if o.has(OverlayMemberOf) {
		rewritten = withMemberOf(seeds)
	}
	for i, s := range seeds {
		file, note := s.path, ""
		if rewritten != nil && rewritten[i] != nil {
			file = filepath.Join(dir, fmt.Sprintf("seed-%d.ldif", i))
			if err := os.WriteFile(file, rewritten[i], 0o600); err != nil {
				return err
			}
			note = " (line numbers count the memberOf lines added to it)"
		}
		var out bytes.Buffer
		args := []string{"-q", "-w", "-f", conf, "-b", o.Suffix, "-l", file}
		if o.ServerID != 0 {
			// The server ID of the entryCSNs slapadd makes (slapd.conf's serverID does not
			// count for it): 0 would be a writer that no provider of the set is.
			args = append(args, "-S", strconv.Itoa(o.ServerID))
		}
		cmd := exec.CommandContext(ctx, o.Slapadd, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if o.Logger != nil {
			cmd.Stdout = io.MultiWriter(&out, o.Logger)
			cmd.Stderr = cmd.Stdout
		}
		err := cmd.Run()
		if file != s.path {
			os.Remove(file)
		}
		if err != nil {
			return fmt.Errorf("slapadd %s%s: %v: %s", s.path, note, err, strings.TrimSpace(out.String()))
		}
	}
	return nil
}

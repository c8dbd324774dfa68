package slapd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// seedCacheVersion changes when what this package does to the seeds before slapadd (the
// memberOf values it adds, slapadd's flags) changes.
const seedCacheVersion = 1

// seedCacheKey digests what the database slapadd makes from o's seeds depends on: the
// configuration (its working directory and rootpw left out), the schema files it includes,
// each seed's contents, the slapadd program (its path, size and time) and seedCacheVersion.
func seedCacheKey(o Options) (string, error) {
	h := sha256.New()
	o.AdminPassword = "" // random by default, and not in the database
	fmt.Fprintf(h, "v%d\n%q\n", seedCacheVersion, renderConf(o, "/seed-cache"))
	fi, err := os.Stat(o.Slapadd)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "%s %d %d\n", o.Slapadd, fi.Size(), fi.ModTime().UnixNano())
	files := []string{filepath.Join(o.SchemaDir, schemaFile)}
	for _, s := range systemSchemas {
		files = append(files, filepath.Join(o.SystemSchemaDir, s))
	}
	files = append(append(files, o.ExtraSchema...), o.SeedLDIF...)
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("seed cache: %w", err)
		}
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("seed cache: %w", err)
		}
		fmt.Fprintf(h, "\n%d\n", n)
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}

// seedCached is the cached database of key, "" when there is none.
func seedCached(o Options, key string) string {
	p := filepath.Join(o.SeedCache, key, "data.mdb")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// copyDB copies an mdb file, keeping its holes (the file is as long as the map; the data
// is a fraction of it).
func copyDB(ctx context.Context, from, to string) error {
	out, err := exec.CommandContext(ctx, "cp", "--sparse=always", from, to).CombinedOutput()
	if err != nil {
		return fmt.Errorf("copy %s: %v: %s", from, err, out)
	}
	return nil
}

// storeSeeded keeps the database in dataDir, which slapadd just made, under key: copied to
// a file of its own first, then renamed, so that two runs storing the same key at once each
// publish a whole copy.
func storeSeeded(ctx context.Context, o Options, key, dataDir string) error {
	dir := filepath.Join(o.SeedCache, key)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "data.mdb.*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	if err := copyDB(ctx, filepath.Join(dataDir, "data.mdb"), tmp); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return os.Rename(tmp, filepath.Join(dir, "data.mdb"))
}

package archivetest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
)

// Zip packs one CSV the way the archive does: a zip holding a single entry, name.
func Zip(name string, csv []byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name)
	if err != nil {
		panic(err)
	}
	if _, err := w.Write(csv); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// Checksum is the archive's checksum file for the zip body named name: "<sha256 hex>  <name>\n".
func Checksum(name string, zipBody []byte) []byte {
	sum := sha256.Sum256(zipBody)
	return []byte(hex.EncodeToString(sum[:]) + "  " + name + "\n")
}

// Publish adds csv to files (URL path → body) as the archive publishes a month: its zip at zipPath (a URL
// path ending in ".zip"), holding the CSV under the zip's name with ".csv" for ".zip", and the zip's
// checksum at zipPath + ".CHECKSUM".
func Publish(files map[string][]byte, zipPath string, csv []byte) {
	name := path.Base(zipPath)
	z := Zip(strings.TrimSuffix(name, ".zip")+".csv", csv)
	files[zipPath] = z
	files[zipPath+".CHECKSUM"] = Checksum(name, z)
}

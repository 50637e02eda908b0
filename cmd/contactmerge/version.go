package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

type versionOptions struct {
	IO        IO
	BuildInfo func() (*debug.BuildInfo, bool)

	asJSON bool
}

func newCmdVersion(f *Factory, runF func(*versionOptions) error) *cobra.Command {
	o := &versionOptions{IO: f.IO, BuildInfo: f.BuildInfo}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the module version, the VCS commit and the Go version",
		Long: `Prints the version of the contactmerge module this binary was built from ("(devel)" for a
build from a work tree), the VCS commit and its time (with "modified" when the work tree had
changes), and the Go version and platform, from the build information Go embeds in the
binary. 'contactmerge --version' prints the same line.`,
		Example: `  contactmerge version
  contactmerge version --json
  contactmerge --version`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return versionRun(o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print one JSON object")
	return cmd
}

func versionRun(o *versionOptions) error {
	v := readVersion(o.BuildInfo)
	if o.asJSON {
		return writeJSON(o.IO.Out, v)
	}
	_, err := fmt.Fprintf(o.IO.Out, "contactmerge %s\n", v)
	return err
}

// versionInfo is what version prints.
type versionInfo struct {
	Module     string `json:"module"`
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commitTime,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
	GoVersion  string `json:"goVersion"`
	Platform   string `json:"platform"`
}

// readVersion reads the build information through read (nil:
// debug.ReadBuildInfo). Without any, the version is "unknown".
func readVersion(read func() (*debug.BuildInfo, bool)) versionInfo {
	if read == nil {
		read = debug.ReadBuildInfo
	}
	v := versionInfo{Module: "github.com/contactmerge/contactmerge", Version: "unknown", GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := read()
	if !ok || bi == nil {
		return v
	}
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the one-line form: "VERSION (commit C, TIME, modified) GO OS/ARCH".
func (v versionInfo) String() string {
	var vcs []string
	if v.Commit != "" {
		vcs = append(vcs, "commit "+v.Commit[:min(len(v.Commit), 12)])
	}
	if v.CommitTime != "" {
		vcs = append(vcs, v.CommitTime)
	}
	if v.Modified {
		vcs = append(vcs, "modified")
	}
	s := v.Version
	if len(vcs) > 0 {
		s += " (" + strings.Join(vcs, ", ") + ")"
	}
	return s + " " + v.GoVersion + " " + v.Platform
}

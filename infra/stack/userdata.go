package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	appconfig "webdemo/app/config"
	"webdemo/app/photocopy"
)

// Boot is what an instance's user-data needs: where the app is, and the
// app's whole configuration for the level. It holds no secrets: the level-0
// database password is made on the host, and RDS's is read at run time.
type Boot struct {
	Level          int
	Region         string
	ArtifactBucket string
	ArtifactKey    string
	ArtifactSHA256 string
	App            appconfig.Config
	// LocalDatabase installs MariaDB on the host (level 0).
	LocalDatabase bool
	// FileSystemID mounts EFS at filesMount (level 1, or either side of a
	// copy), through the access point FileSystemAccessPoint.
	FileSystemID          string
	FileSystemAccessPoint string
	// RDSCABundle fetches AWS's RDS CA bundle to rdsCAPath (levels 1–4, or
	// either side of a copy).
	RDSCABundle bool
	// LogGroup receives the app and boot logs, through the CloudWatch agent.
	LogGroup string
	// Copy, while migrating between levels, is the photo copy this server
	// runs (webdemo-copy.service, again every few minutes by
	// webdemo-copy.timer); nil removes one left from a migration.
	Copy *Copy
}

// Copy is `webdemo copy` from one level's stores to another's, run by
// systemd at boot, again on failure until it copies everything, and again
// copyEvery after each run, for photos the old servers took meanwhile.
type Copy struct {
	FromLevel, ToLevel int
	// Target is the copy's TARGET settings, Source its SOURCE (rendered as
	// FROM_ lines against Target).
	Target, Source appconfig.Config
	// Push: the server is the source level's (level 0, whose MariaDB
	// password is made on the host); else it is the target level's.
	Push bool
}

// copyDonePattern is a CloudWatch Logs filter pattern (a quoted term is
// matched as an exact phrase: "Filter pattern syntax for metric filters,
// subscription filters, filter log events, and Live Tail" in the
// CloudWatch Logs guide), quoted for a shell, for the line `webdemo copy`
// ends with only when every photo is copied: "copy complete: copied N,
// skipped M already present, 0 failed". Progress lines ("so far: ...")
// and the last lines of a stopped or incomplete copy ("copy stopped: ...",
// "copy incomplete: ...") do not match.
const copyDonePattern = `'"copy complete"'`

// copyEvery is how long after each copy the timer runs it again while
// migrating: the old servers take uploads until the new ones are healthy,
// after the first copy has often finished.
const copyEvery = "5min"

// passwordMarker stands for the level-0 MariaDB password while its setting's
// name is worked out; the password itself is made on the host.
const passwordMarker = "password-made-on-the-host"

// PasswordSetting is the environment name the local MariaDB password goes
// under in copy.env: the TARGET's, or with a local source the FROM_ one.
// Both come from the app's config code, not typed here.
func (c Copy) PasswordSetting() (string, error) {
	var lines []string
	if c.Push {
		source := c.Target
		source.MySQLPassword = passwordMarker
		lines = source.EnvironFrom(c.Target)
	} else {
		target := appconfig.Default()
		target.MySQLPassword = passwordMarker
		lines = target.Environ()
	}
	for _, line := range lines {
		if name, value, _ := strings.Cut(line, "="); value == passwordMarker {
			return name, nil
		}
	}
	return "", fmt.Errorf("copy: the app's settings have no MySQL password line in %q", lines)
}

// EnvLines are copy.env: the TARGET's settings (config.Environ), then the
// SOURCE's differences as FROM_ lines (config.EnvironFrom).
func (c Copy) EnvLines() ([]string, error) {
	target, err := envFileLines(c.Target.Environ())
	if err != nil {
		return nil, err
	}
	source, err := envFileLines(c.Source.EnvironFrom(c.Target))
	if err != nil {
		return nil, err
	}
	return append(target, source...), nil
}

// appUserID is the app user's uid and gid on every instance. It is pinned
// because the EFS access point writes as this owner: the files must belong
// to the same user on every server.
const appUserID = 2000

// Paths on the instance.
const (
	filesMount = "/mnt/uploads"
	// filesUploadDir is the access point's root, owned by appUserID.
	filesUploadDir = filesMount
	localUploadDir = "/var/lib/webdemo/uploads"
	// appLog is the app's standard output and error, shipped by the agent.
	appLog    = "/var/log/webdemo/app.log"
	bootLog   = "/var/log/webdemo-boot.log"
	rdsCAPath = "/etc/webdemo/rds-ca.pem"
	// rdsCAURL is AWS's global RDS CA bundle ("Using SSL/TLS" in the RDS docs).
	rdsCAURL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
	// maxUserData is EC2's limit on decoded user-data.
	maxUserData = 16 << 10
)

// userDataBoundary separates the parts of the MIME user-data.
const userDataBoundary = "==web-demo-boot=="

// userDataTemplate wraps the boot script in a MIME multipart document whose
// cloud-config makes cloud-init run the script at every boot, not only the
// first ("How do I use user data to automatically run a script with every
// restart", AWS Knowledge Center, execute-user-data-ec2). A stopped and
// started instance with new user-data, as at level 0, so installs the new
// app in place and keeps its disk.
var userDataTemplate = template.Must(template.New("user-data").Parse(`Content-Type: multipart/mixed; boundary="{{.Boundary}}"
MIME-Version: 1.0

--{{.Boundary}}
Content-Type: text/cloud-config; charset="us-ascii"
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Disposition: attachment; filename="cloud-config.txt"

#cloud-config
cloud_final_modules:
- [scripts-user, always]

--{{.Boundary}}
Content-Type: text/x-shellscript; charset="us-ascii"
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Disposition: attachment; filename="web-demo-boot.sh"

{{.Script}}
--{{.Boundary}}--
`))

// bootTemplate is the script. It runs at every boot, so every step is
// idempotent.
var bootTemplate = template.Must(template.New("boot").Parse(`#!/bin/bash
# web-demo level {{.Level}}: installs and starts the app. Rendered by the Pulumi
# program from the app's own settings code; it holds no secrets. It runs at
# every boot, so each step may find its work already done.
set -euo pipefail
exec > >(tee -a {{.BootLog}}) 2>&1

region='{{.Region}}'
artifact='s3://{{.ArtifactBucket}}/{{.ArtifactKey}}'
artifact_sha256='{{.ArtifactSHA256}}'

retry() {
	local n
	for n in 1 2 3 4 5 6 7 8 9 10; do
		"$@" && return 0
		echo "attempt $n of: $* failed; retrying" >&2
		sleep $((n * 3))
	done
	return 1
}

# The app, from the private artifact bucket through the instance role, and
# refused unless its SHA-256 matches the one built.
download=$(mktemp)
retry aws s3 cp --region "$region" --only-show-errors "$artifact" "$download"
echo "$artifact_sha256  $download" | sha256sum --check --quiet
install -m 0755 "$download" /usr/local/bin/webdemo
rm -f "$download"

# The app's user has a fixed uid: shared files belong to the same user on
# every server.
getent group webdemo >/dev/null || groupadd --system --gid {{.AppUserID}} webdemo
id webdemo >/dev/null 2>&1 || useradd --system --uid {{.AppUserID}} --gid webdemo --no-create-home --shell /sbin/nologin webdemo
install -d -m 0755 /etc/webdemo

# Settings, readable by root only; systemd hands them to the app.
(umask 077 && cat > /etc/webdemo/env) <<'SETTINGS'
{{range .Settings}}{{.}}
{{end}}SETTINGS
{{- if .RDSCABundle}}

# RDS's certificate authority is not in the OS trust store.
retry curl --fail --silent --show-error --location --output {{.RDSCAPath}} {{.RDSCAURL}}
chmod 0644 {{.RDSCAPath}}
{{- end}}

# Logs: the app writes to {{.AppLog}} (rotated here), and the CloudWatch
# agent ships it and this script's log to the stack's log group.
retry dnf install --assumeyes --quiet amazon-cloudwatch-agent logrotate
install -d -m 0755 /var/log/webdemo /opt/aws/amazon-cloudwatch-agent/etc
cat > /etc/logrotate.d/webdemo <<'ROTATE'
{{.AppLog}} {
	daily
	rotate 3
	maxsize 50M
	missingok
	notifempty
	copytruncate
	compress
}
ROTATE
cat > /opt/aws/amazon-cloudwatch-agent/etc/webdemo.json <<'AGENT'
{{.AgentConfig}}
AGENT
PATH="$PATH:/opt/aws/amazon-cloudwatch-agent/bin" amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
	-c file:/opt/aws/amazon-cloudwatch-agent/etc/webdemo.json
{{- if .LocalDatabase}}

# Level 0: MariaDB on this host, with a password made here once and kept
# beside the settings.
retry dnf install --assumeyes --quiet mariadb105-server
systemctl enable --now mariadb
if [ ! -s /etc/webdemo/mysql-password ]; then
	(umask 077 && openssl rand -hex 24 > /etc/webdemo/mysql-password)
fi
password=$(cat /etc/webdemo/mysql-password)
mysql --user=root <<SQL
CREATE DATABASE IF NOT EXISTS {{.App.MySQLDatabase}};
CREATE USER IF NOT EXISTS '{{.App.MySQLUser}}'@'localhost' IDENTIFIED BY '$password';
CREATE USER IF NOT EXISTS '{{.App.MySQLUser}}'@'127.0.0.1' IDENTIFIED BY '$password';
ALTER USER '{{.App.MySQLUser}}'@'localhost' IDENTIFIED BY '$password';
ALTER USER '{{.App.MySQLUser}}'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL ON {{.App.MySQLDatabase}}.* TO '{{.App.MySQLUser}}'@'localhost';
GRANT ALL ON {{.App.MySQLDatabase}}.* TO '{{.App.MySQLUser}}'@'127.0.0.1';
SQL
echo "MYSQL_PASSWORD=$password" >> /etc/webdemo/env
unset password
{{- end}}
{{- if not .Copy}}

# The migration is over: its copy goes (the timer first, which would start
# it again), before the EFS it may be reading is unmounted.
if [ -f /etc/systemd/system/webdemo-copy.service ]; then
	if [ -f /etc/systemd/system/webdemo-copy.timer ]; then
		systemctl disable --now webdemo-copy.timer
	fi
	systemctl disable --now webdemo-copy.service
	rm -f /etc/systemd/system/webdemo-copy.timer /etc/systemd/system/webdemo-copy.service /etc/webdemo/copy.env
	systemctl daemon-reload
fi
{{- end}}
{{- if .FileSystemID}}

# Level 1: uploads on EFS, shared by every server, mounted over TLS with
# the instance role through the access point, which writes as the app's
# user (root on this host is squashed there).
retry dnf install --assumeyes --quiet amazon-efs-utils
mkdir -p {{.FilesMount}}
sed -i '\| {{.FilesMount}} |d' /etc/fstab
echo '{{.FileSystemID}}:/ {{.FilesMount}} efs _netdev,noresvport,tls,iam,accesspoint={{.FileSystemAccessPoint}} 0 0' >> /etc/fstab
mountpoint -q {{.FilesMount}} || retry mount {{.FilesMount}}
{{- else}}
# No EFS here: drop a mount a migration left (level 0 is updated in place).
if grep -q ' {{.FilesMount}} ' /etc/fstab; then
	if mountpoint -q {{.FilesMount}}; then umount {{.FilesMount}}; fi
	sed -i '\| {{.FilesMount}} |d' /etc/fstab
fi
{{- end}}

cat > /etc/systemd/system/webdemo.service <<'UNIT'
[Unit]
Description=web-demo photo site
Wants=network-online.target
After=network-online.target remote-fs.target{{if .LocalDatabase}} mariadb.service{{end}}
{{- if .AppOnFiles}}
# Never without EFS: uploads would go to the empty directory beneath it.
RequiresMountsFor={{.FilesMount}}
{{- end}}

[Service]
User=webdemo
Group=webdemo
EnvironmentFile=/etc/webdemo/env
ExecStart=/usr/local/bin/webdemo
StandardOutput=append:{{.AppLog}}
StandardError=inherit
StateDirectory=webdemo
WorkingDirectory=/var/lib/webdemo
Restart=always
RestartSec=2
TimeoutStopSec=60
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
{{template "sandbox"}}
{{- if .AppOnFiles}}
ReadWritePaths={{.FilesMount}}
{{- end}}

[Install]
WantedBy=multi-user.target
UNIT
# Restart, not start: on a later boot systemd has already started the
# previous app, and the new binary and settings must take over.
systemctl daemon-reload
systemctl enable webdemo.service
systemctl restart webdemo.service
{{- with .Copy}}

# Migration from level {{.FromLevel}} to level {{.ToLevel}}: copy every photo from the old
# stores to the new (webdemo copy), at boot and again {{$.CopyEvery}} after each run,
# for photos the old servers take meanwhile. It never changes the source and
# skips what is already copied, so it may run again at every boot and on
# every server; its final line, "copy complete: ..." only when every photo
# was copied, goes to the app's log.
(umask 077 && cat > /etc/webdemo/copy.env) <<'COPY'
{{range $.CopyLines}}{{.}}
{{end}}COPY
{{- if $.CopyPassword}}
echo "{{$.CopyPassword}}=$(cat /etc/webdemo/mysql-password)" >> /etc/webdemo/copy.env
{{- end}}
cat > /etc/systemd/system/webdemo-copy.service <<'UNIT'
[Unit]
Description=web-demo: copy photos from level {{.FromLevel}} to level {{.ToLevel}}
Wants=network-online.target
After=network-online.target remote-fs.target webdemo.service{{if $.LocalDatabase}} mariadb.service{{end}}
{{- if $.FileSystemID}}
# Never without EFS: it would copy from or into the empty directory beneath.
RequiresMountsFor={{$.FilesMount}}
{{- end}}
# Retried until it succeeds: the other side may still be starting.
StartLimitIntervalSec=0

[Service]
Type=oneshot
User=webdemo
Group=webdemo
EnvironmentFile=/etc/webdemo/copy.env
ExecStart=/usr/local/bin/webdemo copy
StandardOutput=append:{{$.AppLog}}
StandardError=inherit
StateDirectory=webdemo
WorkingDirectory=/var/lib/webdemo
Restart=on-failure
RestartSec=30
# {{$.CopyIncompleteStatus}}: photos left behind, named in the log; a restart would fail
# the same way, and the timer runs it again after any fix.
RestartPreventExitStatus={{$.CopyIncompleteStatus}}
{{template "sandbox"}}
{{- if $.FileSystemID}}
ReadWritePaths={{$.FilesMount}}
{{- end}}

[Install]
WantedBy=multi-user.target
UNIT
cat > /etc/systemd/system/webdemo-copy.timer <<'UNIT'
[Unit]
Description=web-demo: copy photos from level {{.FromLevel}} to level {{.ToLevel}} again

[Timer]
# Starts webdemo-copy.service this long after each run ends.
OnUnitInactiveSec={{$.CopyEvery}}

[Install]
WantedBy=timers.target
UNIT
systemctl daemon-reload
systemctl enable webdemo-copy.service webdemo-copy.timer
# Not waited for: the copy may take long, and the boot is done.
systemctl restart --no-block webdemo-copy.service
systemctl restart webdemo-copy.timer
{{- end}}

# Check every dependency once, as the app's user with its settings, so a
# broken level explains itself here and in the console log. A failure does
# not fail the boot: the app keeps retrying, and the cause may pass.
if ! systemd-run --quiet --wait --pipe --collect --uid=webdemo --gid=webdemo \
	--working-directory=/var/lib/webdemo --property=EnvironmentFile=/etc/webdemo/env \
	/usr/local/bin/webdemo doctor; then
	echo "web-demo doctor found problems (above)"
fi
echo "web-demo level {{.Level}} is running"
{{- define "sandbox" -}}
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
{{- end}}
`))

// safeEnvValue needs no quoting in a systemd environment file.
var safeEnvValue = regexp.MustCompile(`^[A-Za-z0-9_.,:/@!+=%-]*$`)

// EnvLines renders the app's settings for a systemd environment file.
func (b Boot) EnvLines() ([]string, error) { return envFileLines(b.App.Environ()) }

// envFileLines renders NAME=value lines for a systemd environment file,
// quoting values that need it.
func envFileLines(environ []string) ([]string, error) {
	var lines []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case strings.ContainsAny(value, "\n\r"):
			return nil, fmt.Errorf("user-data: %s holds a line break", name)
		case !safeEnvValue.MatchString(value):
			value = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value) + `"`
		}
		lines = append(lines, name+"="+value)
	}
	return lines, nil
}

// Script returns the boot script alone.
func (b Boot) Script() (string, error) {
	lines, err := b.EnvLines()
	if err != nil {
		return "", err
	}
	agent, err := b.agentConfig()
	if err != nil {
		return "", err
	}
	var copyLines []string
	copyPassword := ""
	if b.Copy != nil {
		if copyLines, err = b.Copy.EnvLines(); err != nil {
			return "", err
		}
		if b.LocalDatabase {
			if copyPassword, err = b.Copy.PasswordSetting(); err != nil {
				return "", err
			}
		}
	}
	data := struct {
		Boot
		Settings                        []string
		FilesMount, RDSCAPath, RDSCAURL string
		AppUserID                       int
		AppLog, BootLog, AgentConfig    string
		// AppOnFiles: the app itself keeps uploads on EFS.
		AppOnFiles bool
		CopyLines  []string
		// CopyPassword is the setting that takes the local MariaDB
		// password in copy.env.
		CopyPassword string
		CopyEvery    string
		// CopyIncompleteStatus is the copy's exit status when photos were
		// left behind, which systemd does not restart on.
		CopyIncompleteStatus int
	}{b, lines, filesMount, rdsCAPath, rdsCAURL, appUserID, appLog, bootLog, agent,
		b.App.Storage == appconfig.StorageDisk && b.App.UploadDir == filesUploadDir, copyLines, copyPassword, copyEvery,
		photocopy.ExitIncomplete}
	var buf bytes.Buffer
	if err := bootTemplate.Execute(&buf, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// agentConfig is the CloudWatch agent's configuration: the app log and the
// boot log, one stream per instance and file ("Manually create or edit the
// CloudWatch agent configuration file" in the CloudWatch guide).
func (b Boot) agentConfig() (string, error) {
	type file struct {
		FilePath      string `json:"file_path"`
		LogGroupName  string `json:"log_group_name"`
		LogStreamName string `json:"log_stream_name"`
	}
	config := map[string]any{
		"agent": map[string]any{"run_as_user": "root"},
		"logs": map[string]any{"logs_collected": map[string]any{"files": map[string]any{"collect_list": []file{
			{appLog, b.LogGroup, "{instance_id}/app"},
			{bootLog, b.LogGroup, "{instance_id}/boot"},
		}}}},
	}
	out, err := json.MarshalIndent(config, "", "  ")
	return string(out), err
}

// Render returns the user-data: the boot script in a MIME document that
// runs it at every boot, refused when over EC2's limit.
func (b Boot) Render() (string, error) {
	script, err := b.Script()
	if err != nil {
		return "", err
	}
	if strings.Contains(script, userDataBoundary) {
		return "", fmt.Errorf("user-data: the boot script contains the MIME boundary %q", userDataBoundary)
	}
	var buf bytes.Buffer
	if err := userDataTemplate.Execute(&buf, struct{ Boundary, Script string }{userDataBoundary, script}); err != nil {
		return "", err
	}
	if buf.Len() > maxUserData {
		return "", fmt.Errorf("user-data is %d bytes; EC2 allows %d", buf.Len(), maxUserData)
	}
	return buf.String(), nil
}

package doctor

import "slices"

// Dependency is a kind of backend the app reaches. With a failure's Class
// it picks the hint: the same timeout means a security group for RDS and a
// hung mount for EFS.
type Dependency string

// The dependencies the settings can name.
const (
	// RDS is MySQL across the network: RDS at levels 1–4.
	RDS Dependency = "RDS"
	// LocalMySQL is MariaDB on the app's own host (level 0).
	LocalMySQL Dependency = "MariaDB on this host"
	// SQLite is the embedded database of a local run.
	SQLite Dependency = "SQLite"
	// DatabaseSecret is the Secrets Manager secret with the database login.
	DatabaseSecret Dependency = "database secret"
	// Memcached is one memcached node (ElastiCache at levels 1–4).
	Memcached Dependency = "memcached"
	// S3 is the uploads bucket (levels 2–4).
	S3 Dependency = "S3"
	// UploadDir is the uploads directory: the host's disk or EFS (level 1).
	UploadDir Dependency = "upload directory"
	// LatencyFile is the file the simulated latency is read from.
	LatencyFile Dependency = "latency file"
	// LatencyParameter is the SSM parameter holding the simulated latency.
	LatencyParameter Dependency = "latency parameter"
	// InstanceMetadata is EC2's instance metadata service (IMDSv2).
	InstanceMetadata Dependency = "instance metadata"
)

// hint is the likely cause of the failures of the given classes on the
// given dependencies, at the level that uses them.
type hint struct {
	on   []Dependency
	when []Class
	text string
}

// awsAPIs are the dependencies reached through AWS's public APIs.
var awsAPIs = []Dependency{S3, DatabaseSecret, LatencyParameter}

// hints is every hint the doctor gives, in one table. Each row has a test
// in hints_test.go.
var hints = []hint{
	// The database: RDS at levels 1–4, MariaDB on the host at level 0.
	{on: []Dependency{RDS}, when: []Class{Timeout},
		text: "the database security group must allow the app's security group on 3306 (infra/stack/network.go)"},
	{on: []Dependency{RDS}, when: []Class{Refused},
		text: "nothing listens there: MYSQL_HOST and MYSQL_PORT must be the RDS endpoint (pulumi stack output dbEndpoint) and the instance must be available"},
	{on: []Dependency{RDS}, when: []Class{NoAnswer},
		text: "the port accepts connections but no MySQL greeting comes: MYSQL_HOST and MYSQL_PORT must be the RDS endpoint"},
	{on: []Dependency{RDS}, when: []Class{DNS},
		text: "MYSQL_HOST does not resolve: it must be the RDS endpoint's host (pulumi stack output dbEndpoint)"},
	{on: []Dependency{RDS}, when: []Class{TLS},
		text: "RDS requires TLS verified by AWS's RDS CA: MYSQL_TLS_CA_FILE must hold that bundle and MYSQL_HOST must be the endpoint name the certificate carries"},
	{on: []Dependency{RDS}, when: []Class{NoFile},
		text: "MYSQL_TLS_CA_FILE is missing: the boot script downloads the RDS CA bundle there (see /var/log/webdemo-boot.log)"},
	{on: []Dependency{RDS}, when: []Class{Login},
		text: "RDS refused the login: the user and password come from the MYSQL_SECRET_ARN secret, which must be this instance's RDS-managed master secret"},
	{on: []Dependency{RDS}, when: []Class{UnknownDatabase},
		text: "MYSQL_DATABASE does not exist: RDS creates only the database named when the instance was made (infra/stack/database.go)"},
	{on: []Dependency{LocalMySQL}, when: []Class{Refused},
		text: "MariaDB on this host is not running: sudo systemctl status mariadb (the boot script installs and starts it)"},
	{on: []Dependency{LocalMySQL}, when: []Class{Login},
		text: "MYSQL_PASSWORD in /etc/webdemo/env is not MariaDB's password for MYSQL_USER: the boot script sets both from /etc/webdemo/mysql-password at every boot"},
	{on: []Dependency{LocalMySQL}, when: []Class{UnknownDatabase},
		text: "the boot script creates MYSQL_DATABASE: see /var/log/webdemo-boot.log"},
	{on: []Dependency{DatabaseSecret}, when: []Class{Denied},
		text: "the instance role lacks secretsmanager:GetSecretValue on MYSQL_SECRET_ARN (infra/stack/identity.go)"},
	{on: []Dependency{DatabaseSecret}, when: []Class{NotFound},
		text: "MYSQL_SECRET_ARN names no secret in AWS_REGION: it must be the stack's dbSecretArn output"},

	// Every AWS API.
	{on: awsAPIs, when: []Class{NoCredentials},
		text: "no AWS credentials: on EC2 the instance needs the stack's instance profile (infra/stack/identity.go) and a reachable metadata service"},
	{on: awsAPIs, when: []Class{Timeout},
		text: "AWS's API does not answer: with no NAT gateway, the instance needs its public IP and the public subnet's route to the internet gateway (infra/stack/network.go)"},
	{on: awsAPIs, when: []Class{DNS},
		text: "the AWS endpoint does not resolve: AWS_REGION must be a region's code, such as us-east-1"},

	// memcached: ElastiCache at levels 1–4.
	{on: []Dependency{Memcached}, when: []Class{Timeout},
		text: "the cache security group must allow the app's security group on 11211 (infra/stack/network.go)"},
	{on: []Dependency{Memcached}, when: []Class{Refused},
		text: "nothing listens there: MEMCACHED_SERVERS must list the cluster's node endpoints and port"},
	{on: []Dependency{Memcached}, when: []Class{DNS},
		text: "the node's name does not resolve: MEMCACHED_SERVERS must list the cluster's node endpoints (pulumi stack output cacheEndpoint)"},
	{on: []Dependency{Memcached}, when: []Class{TLS, NoAnswer, Closed},
		text: "MEMCACHED_TLS must match the cluster's in-transit encryption, and with TLS each name must be the node endpoint its certificate carries"},

	// Uploads: S3 at levels 2–4, the host's disk at 0, EFS at 1.
	{on: []Dependency{S3}, when: []Class{Denied},
		text: "the instance role lacks s3:PutObject, s3:GetObject or s3:DeleteObject on uploads/* (infra/stack/identity.go), the only prefix S3_PREFIX may name"},
	{on: []Dependency{S3}, when: []Class{NoBucket},
		text: "S3_BUCKET names no bucket: it must be the stack's uploadsBucket output"},
	{on: []Dependency{S3}, when: []Class{WrongRegion},
		text: "the bucket is in another region: AWS_REGION must be the stack's region"},
	{on: []Dependency{S3}, when: []Class{Refused},
		text: "nothing listens at S3_ENDPOINT: start the S3-compatible server, or leave S3_ENDPOINT unset on AWS"},
	{on: []Dependency{UploadDir}, when: []Class{Permission},
		text: "the app's user cannot write UPLOAD_DIR: at level 1 it is EFS, writable through the access point as uid 2000 (infra/stack/storage.go); at level 0 it lies under the unit's StateDirectory"},
	{on: []Dependency{UploadDir}, when: []Class{Timeout},
		text: "UPLOAD_DIR hangs: at level 1 it is EFS, whose security group must allow the app's security group on 2049 (infra/stack/network.go)"},

	// The simulated latency.
	{on: []Dependency{LatencyFile}, when: []Class{NoFile},
		text: "LATENCY_FILE does not exist: write a duration such as 1.5s into it"},
	{on: []Dependency{LatencyFile}, when: []Class{BadValue},
		text: "LATENCY_FILE must hold a duration such as 1.5s or 200ms"},
	{on: []Dependency{LatencyParameter}, when: []Class{Denied},
		text: "the instance role lacks ssm:GetParameter on LATENCY_SSM_PARAMETER (infra/stack/identity.go)"},
	{on: []Dependency{LatencyParameter}, when: []Class{NotFound},
		text: "LATENCY_SSM_PARAMETER names no parameter in AWS_REGION: it must be the stack's latencyParameter output"},
	{on: []Dependency{LatencyParameter}, when: []Class{BadValue},
		text: `the parameter must hold a duration: aws ssm put-parameter --overwrite --name "$(pulumi stack output latencyParameter)" --value 1.5s`},

	// Instance metadata, for the page header.
	{on: []Dependency{InstanceMetadata}, when: []Class{Timeout},
		text: "the metadata service does not answer: run the doctor on the instance, not in a container (the hop limit is 1, infra/stack/fleet.go); off EC2 set EC2_METADATA=false"},
	{on: []Dependency{InstanceMetadata}, when: []Class{Unauthorized},
		text: "IMDS wants an IMDSv2 token (the instances require one, infra/stack/fleet.go): the token request must come from the instance itself, within the hop limit of 1"},
	{on: []Dependency{InstanceMetadata}, when: []Class{Denied},
		text: "the metadata endpoint is turned off on this instance: its metadata options must enable it (infra/stack/fleet.go), or set EC2_METADATA=false"},
}

// Hint returns the likely cause of a failure of class on dep, or "" when
// the error says all there is.
func Hint(dep Dependency, class Class) string {
	for _, h := range hints {
		if slices.Contains(h.on, dep) && slices.Contains(h.when, class) {
			return h.text
		}
	}
	return ""
}

package stack

// The rules AWS documents for the inputs this program sets, per resource
// type token. Each rule cites the page it comes from. A type the program
// registers without an entry here fails TestAWSRules; so does a rule an
// input breaks. Rules on inputs the program does not set yet hold
// trivially, and are here so that setting them is checked from the start.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Documentation pages cited more than once.
const (
	docLogGroup           = "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"
	docDashboard          = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html"
	docSGDescription      = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/ec2/aws.sdk.kotlin.services.ec2.model/-create-security-group-request/description.html"
	docSGName             = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/ec2/aws.sdk.kotlin.services.ec2.model/-create-security-group-request/group-name.html"
	docIPRange            = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html"
	docGroupPair          = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/ec2/aws.sdk.kotlin.services.ec2.model/-user-id-group-pair/description.html"
	docIPPermission       = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpPermission.html"
	docCreateVpc          = "https://docs.aws.amazon.com/sdkfornet/latest/apidocs/items/TEC2CreateVpcRequestNET45.html"
	docCreateSubnet       = "https://docs.amazonaws.cn/goto/SdkForKotlin/ec2-2016-11-15/CreateSubnet"
	docUserData           = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-add-user-data.html"
	docLTUserData         = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/ec2/aws.sdk.kotlin.services.ec2.model/-request-launch-template-data/user-data.html"
	docHopLimit           = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/ec2/aws.sdk.kotlin.services.ec2.model/-launch-template-instance-metadata-options-request/http-put-response-hop-limit.html"
	docEBSVolumeSize      = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/ec2/aws.sdk.kotlin.services.ec2.model/-launch-template-ebs-block-device-request/volume-size.html"
	docRDSCreate          = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/rds/aws.sdk.kotlin.services.rds.model/-create-db-instance-request/"
	docRDSParamGroupName  = "https://docs.amazonaws.cn/en_us/AmazonRDS/latest/UserGuide/USER_WorkingWithParamGroups.Creating.html"
	docRDSFamilies        = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.MySQL.Parameters.html"
	docRDSFamilyMatch     = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/rds/aws.sdk.kotlin.services.rds.model/-create-db-parameter-group-request/db-parameter-group-family.html"
	docRDSSubnetGroup     = "https://docs.aws.amazon.com/de_de/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html"
	docCacheCluster       = "https://docs.amazonaws.cn/goto/WebAPI/elasticache-2015-02-02/CreateCacheCluster"
	docCacheSubnetGroup   = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/elasticache/aws.sdk.kotlin.services.elasticache.model/-create-cache-subnet-group-request/cache-subnet-group-name.html"
	docLBName             = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/elasticloadbalancingv2/aws.sdk.kotlin.services.elasticloadbalancingv2.model/-create-load-balancer-request/name.html"
	docLBSubnets          = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/elasticloadbalancingv2/aws.sdk.kotlin.services.elasticloadbalancingv2.model/-create-load-balancer-request/subnets.html"
	docTGName             = "https://rdocumentation.org/packages/paws.networking/versions/0.1.9/topics/elbv2_create_target_group"
	docTGHealth           = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks"
	docCreateListener     = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html"
	docListenerPort       = "https://docs.amazonaws.cn/elasticloadbalancing/2012-06-01/APIReference/API_Listener.html"
	docRedirect           = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_RedirectActionConfig.html"
	docIAMQuotas          = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
	docIAMRole            = "https://docs.aws.amazon.com/goto/WebAPI/iam-2010-05-08/PolicyRole"
	docS3BucketNames      = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"
	docS3Lifecycle        = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRule.html"
	docS3ObjectKeys       = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html"
	docSSMName            = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/ssm/aws.sdk.kotlin.services.ssm.model/-put-parameter-request/name.html"
	docASGName            = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/autoscaling/aws.sdk.kotlin.services.autoscaling.model/-create-auto-scaling-group-request/auto-scaling-group-name.html"
	docScalingPolicy      = "https://docs.aws.amazon.com/goto/WebAPI/autoscaling-2011-01-01/ScalingPolicy"
	docPutScalingPolicy   = "https://docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/Package/-aws-sdk-client-auto-scaling/Interface/PutScalingPolicyCommandInput"
	docMetricAlarm        = "https://docs.amazonaws.cn/en_us/AmazonCloudWatch/latest/APIReference/API_MetricAlarm.md"
	docAlarmPeriod        = "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/cloudwatch/aws.sdk.kotlin.services.cloudwatch.model/-put-metric-alarm-request/period.html"
	docAlarmMetric        = "https://docs.amazonaws.cn/goto/WebAPI/monitoring-2010-08-01/DescribeAlarmsForMetric"
	docEFSAccessPointRoot = "https://docs.aws.amazon.com/efs/latest/ug/API_RootDirectory.html"
	docEFSCreationInfo    = "https://docs.aws.amazon.com/efs/latest/ug/API_CreationInfo"
	docEFSMountTarget     = "https://docs.aws.amazon.com/sdk-for-sap-abap/v1/api/latest/efs/operation/CREATEMOUNTTARGET.html"
)

// awsRules holds, per resource type token, every rule its inputs must meet.
var awsRules = map[string][]awsRule{
	// --- Network ----------------------------------------------------------
	"aws:ec2/vpc:Vpc": append([]awsRule{
		textRule("cidrBlock", "an IPv4 block from /16 to /28", docCreateVpc, cidrPrefixBetween(16, 28)),
		textRule("cidrBlock", "a network address: no host bits set", docIPRange, cidrCanonical),
	}, tagRules("tags")...),
	"aws:ec2/subnet:Subnet": append([]awsRule{
		textRule("cidrBlock", "an IPv4 block from /16 to /28", docCreateSubnet, cidrPrefixBetween(16, 28)),
		textRule("cidrBlock", "a network address: no host bits set", docIPRange, cidrCanonical),
		whole("cidrBlock", "inside the VPC's block and overlapping no other subnet in it", docCreateSubnet, subnetFitsVPC),
	}, tagRules("tags")...),
	"aws:ec2/internetGateway:InternetGateway": tagRules("tags"),
	"aws:ec2/internetGatewayAttachment:InternetGatewayAttachment": {
		whole("vpcId", "both vpcId and internetGatewayId (AttachInternetGateway requires them)", "https://docs.aws.amazon.com/goto/WebAPI/ec2/AttachInternetGateway", func(r Resource, _ *Simulation) []string {
			if textAt(r, "vpcId") == "" || textAt(r, "internetGatewayId") == "" {
				return []string{quoted(textAt(r, "vpcId")) + " with gateway " + quoted(textAt(r, "internetGatewayId"))}
			}
			return nil
		}),
	},
	"aws:ec2/routeTable:RouteTable": append([]awsRule{
		textRule("routes.cidrBlock", "a valid IPv4 CIDR block, as its network address", docIPRange, cidrCanonical),
	}, tagRules("tags")...),
	"aws:ec2/routeTableAssociation:RouteTableAssociation": {
		// "一个子网一次只能与一个路由表关联" — a subnet is associated
		// with one route table at a time.
		whole("subnetId", "a subnet is associated with only one route table at a time", "https://docs.amazonaws.cn/vpc/latest/userguide/subnet-route-tables.md", func(r Resource, sim *Simulation) []string {
			subnet := textAt(r, "subnetId")
			if subnet == "" {
				return nil
			}
			n := 0
			for _, other := range sim.ofType(r.Type) {
				if textAt(other, "subnetId") == subnet {
					n++
				}
			}
			if n > 1 {
				return []string{fmt.Sprintf("%s in %d associations", quoted(subnet), n)}
			}
			return nil
		}),
	},
	"aws:ec2/securityGroup:SecurityGroup": append([]awsRule{
		textRule("description", "up to 255 of a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$*", docSGDescription, ec2DescriptionOK),
		nameRule(autoName, `up to 255 of a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$*, not starting with "sg-"`, docSGName, securityGroupNameOK),
	}, tagRules("tags")...),
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": securityGroupRuleRules(),
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   securityGroupRuleRules(),
	"aws:ec2/eip:Eip": append([]awsRule{
		oneOf("domain", "https://docs.aws.amazon.com/sdkfornet1/latest/apidocs/html/P_Amazon_EC2_Model_AllocateAddressRequest_Domain.htm", "vpc", "standard"),
	}, tagRules("tags")...),

	// --- Compute ----------------------------------------------------------
	"aws:ec2/instance:Instance": append([]awsRule{
		textRule("userData", "at most 16 KB (16,384 bytes) before base64 encoding", docUserData, func(s string) bool { return len(s) <= maxUserDataBytes }),
		textRule("userDataBase64", "base64 of at most 16 KB", docUserData, func(s string) bool {
			raw, ok := decodedUserData(s)
			return ok && len(raw) <= maxUserDataBytes
		}),
		between("metadataOptions.httpPutResponseHopLimit", 1, 64, "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/ec2/aws.sdk.kotlin.services.ec2.model/-modify-instance-metadata-options-request/http-put-response-hop-limit.html"),
		whole("rootBlockDevice.volumeSize", "gp2 and gp3 volumes from 1 to 16,384 GiB", docEBSVolumeSize, ebsVolumeSizeOK("rootBlockDevice")),
	}, tagRules("tags")...),
	"aws:ec2/launchTemplate:LaunchTemplate": append([]awsRule{
		nameRule(autoName, "3 to 128 of a-zA-Z0-9 ( ) . - / _", "https://docs.amazonaws.cn/AWSEC2/latest/APIReference/API_LaunchTemplate.html", launchTemplateNameOK),
		textRule("userData", "base64-encoded, at most 16 KB decoded", docLTUserData, func(s string) bool {
			raw, ok := decodedUserData(s)
			return ok && len(raw) <= maxUserDataBytes
		}),
		between("metadataOptions.httpPutResponseHopLimit", 1, 64, docHopLimit),
		whole("blockDeviceMappings.ebs.volumeSize", "gp2 and gp3 volumes from 1 to 16,384 GiB", docEBSVolumeSize, ebsVolumeSizeOK("blockDeviceMappings.ebs")),
		oneOf("tagSpecifications.resourceType", "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchTemplateTagSpecificationRequest.html",
			"instance", "volume", "network-interface", "spot-instances-request"),
	}, append(tagRules("tags"), tagRules("tagSpecifications.tags")...)...),
	"aws:autoscaling/group:Group": append([]awsRule{
		nameRule(autoName, "1 to 255 ASCII characters 33–126, no colon", docASGName, asgNameOK),
		whole("desiredCapacity", "minSize ≤ desiredCapacity ≤ maxSize", "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/autoscaling/aws.sdk.kotlin.services.autoscaling.model/-create-auto-scaling-group-request/desired-capacity.html", func(r Resource, _ *Simulation) []string {
			lo, hi := numberAt(r, "minSize", 0), numberAt(r, "maxSize", 0)
			desired := numberAt(r, "desiredCapacity", lo)
			if lo > hi || desired < lo || desired > hi {
				return []string{fmt.Sprintf("min %s, desired %s, max %s", fmtNumber(lo), fmtNumber(desired), fmtNumber(hi))}
			}
			return nil
		}),
		textRule("healthCheckType", "a comma-separated list of EC2, EBS, ELB and VPC_LATTICE", "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/autoscaling/aws.sdk.kotlin.services.autoscaling.model/-update-auto-scaling-group-request/health-check-type.html", func(s string) bool {
			for _, t := range strings.Split(s, ",") {
				if !slices.Contains([]string{"EC2", "EBS", "ELB", "VPC_LATTICE"}, strings.TrimSpace(t)) {
					return false
				}
			}
			return true
		}),
		between("instanceRefresh.preferences.minHealthyPercentage", 0, 100, "https://docs.rs/aws-sdk-autoscaling/latest/aws_sdk_autoscaling/types/struct.RefreshPreferences.html"),
	}, tagRules("tags")...),
	"aws:autoscaling/policy:Policy": {
		nameRule(autoName, "1 to 255 characters", docScalingPolicy, func(s string) bool { return s != "" && utf8.RuneCountInString(s) <= 255 }),
		oneOf("adjustmentType", docScalingPolicy, "ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"),
		oneOf("policyType", docPutScalingPolicy, "SimpleScaling", "StepScaling", "TargetTrackingScaling", "PredictiveScaling"),
		whole("cooldown", "valid only with the SimpleScaling policy type", docPutScalingPolicy, func(r Resource, _ *Simulation) []string {
			policyType := textAt(r, "policyType")
			if textAt(r, "cooldown") != "" && policyType != "" && policyType != "SimpleScaling" {
				return []string{textAt(r, "cooldown") + " with " + policyType}
			}
			return nil
		}),
	},
	"aws:cloudwatch/metricAlarm:MetricAlarm": append([]awsRule{
		nameRule(autoName, "1 to 255 characters", docMetricAlarm, func(s string) bool { return s != "" && utf8.RuneCountInString(s) <= 255 }),
		maxChars("alarmDescription", 1024, docMetricAlarm),
		atMost("alarmActions", 5, docMetricAlarm),
		whole("period", "10, 20, 30 or a multiple of 60 seconds", docAlarmPeriod, func(r Resource, _ *Simulation) []string {
			var bad []string
			for _, p := range numbersAt(r, "period") {
				if !alarmPeriodOK(p) {
					bad = append(bad, fmtNumber(p))
				}
			}
			return bad
		}),
		whole("evaluationPeriods", "period × evaluationPeriods at most one day (86,400 s) for periods under an hour, else 7 days", docAlarmPeriod, func(r Resource, _ *Simulation) []string {
			period, periods := numberAt(r, "period", 0), numberAt(r, "evaluationPeriods", 1)
			limit := 86400.0
			if period >= 3600 {
				limit = 604800
			}
			if periods < 1 || period*periods > limit {
				return []string{fmt.Sprintf("%s × %s s", fmtNumber(periods), fmtNumber(period))}
			}
			return nil
		}),
		oneOf("treatMissingData", "https://docs.aws.amazon.com/boto3/latest/reference/services/cloudwatch/alarm/treat_missing_data.html", "breaching", "notBreaching", "ignore", "missing"),
		oneOf("comparisonOperator", "https://pub.dev/documentation/pulumi_aws/latest/cloudwatch/MetricAlarm/comparisonOperator.html",
			"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold",
			"LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold"),
		oneOf("statistic", docAlarmMetric, "SampleCount", "Average", "Sum", "Minimum", "Maximum"),
		textRule("namespace", "1 to 255 characters, not starting with a colon", docAlarmMetric, func(s string) bool {
			return s != "" && utf8.RuneCountInString(s) <= 255 && !strings.HasPrefix(s, ":")
		}),
		textRule("metricName", "1 to 255 characters", docAlarmMetric, func(s string) bool { return s != "" && utf8.RuneCountInString(s) <= 255 }),
		whole("dimensions", "at most 30 dimensions", docAlarmMetric, func(r Resource, _ *Simulation) []string {
			if n := len(tagPairs(r, "dimensions")); n > 30 {
				return []string{fmt.Sprintf("%d dimensions", n)}
			}
			return nil
		}),
	}, tagRules("tags")...),

	// --- Load balancing -----------------------------------------------------
	"aws:lb/loadBalancer:LoadBalancer": append([]awsRule{
		nameRule(autoName, `up to 32 alphanumerics or hyphens, not starting or ending with a hyphen, not starting with "internal-"`, docLBName, loadBalancerNameOK),
		oneOf("loadBalancerType", docLBName, "application", "network", "gateway"),
		oneOf("desyncMitigationMode", "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#desync-mitigation-mode",
			"monitor", "defensive", "strictest"),
		// The idle timeout, 1-4000 s, from the load balancer attribute
		// idle_timeout.timeout_seconds.
		between("idleTimeout", 1, 4000, "https://docs.aws.amazon.com/AWSJavaSDK/latest/javadoc/com/amazonaws/services/elasticloadbalancingv2/model/LoadBalancerAttribute.html"),
		whole("subnets", "an Application Load Balancer needs subnets in at least two Availability Zones", docLBSubnets, func(r Resource, sim *Simulation) []string {
			if textAt(r, "loadBalancerType") != "application" && textAt(r, "loadBalancerType") != "" {
				return nil
			}
			if zones := zonesOf(r, "subnets", sim); len(zones) < 2 {
				return []string{fmt.Sprintf("%d zone(s) %v", len(zones), zones)}
			}
			return nil
		}),
	}, tagRules("tags")...),
	"aws:lb/targetGroup:TargetGroup": append([]awsRule{
		nameRule(autoName, "up to 32 alphanumerics or hyphens, not starting or ending with a hyphen", docTGName, targetGroupNameOK),
		between("port", 1, 65535, docTGName),
		oneOf("targetType", docTGName, "instance", "ip", "lambda", "alb"),
		between("healthCheck.interval", 5, 300, docTGHealth),
		between("healthCheck.timeout", 2, 120, docTGHealth),
		between("healthCheck.healthyThreshold", 2, 10, docTGHealth),
		between("healthCheck.unhealthyThreshold", 2, 10, docTGHealth),
		// ELB refuses a timeout that is not below the interval; CDK
		// guards it for the same reason.
		whole("healthCheck.timeout", "less than healthCheck.interval (defaults: 5 s and 30 s)", "https://github.com/aws/aws-cdk/issues/22200", func(r Resource, _ *Simulation) []string {
			timeout, interval := numberAt(r, "healthCheck.timeout", 5), numberAt(r, "healthCheck.interval", 30)
			if timeout >= interval {
				return []string{fmt.Sprintf("%s s with interval %s s", fmtNumber(timeout), fmtNumber(interval))}
			}
			return nil
		}),
		textRule("healthCheck.matcher", "HTTP codes from 200 to 499, as 200, 200,202 or 200-299", "https://docs.aws.amazon.com/goto/WebAPI/elasticloadbalancingv2-2015-12-01/Matcher", httpMatcherOK),
		textRule("healthCheck.path", `an absolute path starting with "/"`, docTGHealth, func(s string) bool { return strings.HasPrefix(s, "/") }),
		between("deregistrationDelay", 0, 3600, "https://metacpan.org/pod/release/JLMARTIN/Paws-0.40/lib/Paws/ELBv2/TargetGroupAttribute.pm"),
	}, tagRules("tags")...),
	"aws:lb/listener:Listener": append([]awsRule{
		between("port", 1, 65535, docListenerPort),
		oneOf("protocol", docCreateListener, "HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE"),
		whole("certificateArn", "an HTTPS listener has exactly one default certificate; an HTTP one has none", docCreateListener, func(r Resource, _ *Simulation) []string {
			cert := textAt(r, "certificateArn")
			switch textAt(r, "protocol") {
			case "HTTPS", "TLS":
				if cert == "" {
					return []string{`"" on an ` + textAt(r, "protocol") + " listener"}
				}
			case "HTTP":
				if cert != "" {
					return []string{quoted(cert) + " on an HTTP listener"}
				}
			}
			return nil
		}),
		oneOf("defaultActions.type", docCreateListener, "forward", "redirect", "fixed-response", "authenticate-oidc", "authenticate-cognito"),
		oneOf("defaultActions.redirect.statusCode", docRedirect, "HTTP_301", "HTTP_302"),
		textRule("defaultActions.redirect.port", "1 to 65535 or #{port}", docRedirect, func(s string) bool {
			n, err := strconv.Atoi(s)
			return s == "#{port}" || (err == nil && n >= 1 && n <= 65535)
		}),
		oneOf("defaultActions.redirect.protocol", docRedirect, "HTTP", "HTTPS", "#{protocol}"),
	}, tagRules("tags")...),
	"aws:lb/targetGroupAttachment:TargetGroupAttachment": {
		between("port", 1, 65535, docTGName),
		textRule("targetId", "set: the instance, IP or function to register", docTGName, func(s string) bool { return s != "" }),
	},

	// --- Database and cache ---------------------------------------------------
	"aws:rds/subnetGroup:SubnetGroup": append([]awsRule{
		// The provider refuses upper case here before AWS stores it
		// lowercased: https://github.com/pulumi/pulumi-aws/issues/3808.
		nameRule(autoName, `up to 255 lowercase letters, digits, spaces and . _ -, starting with a letter, not "default"`, docRDSSubnetGroup, rdsSubnetGroupNameOK),
		whole("subnetIds", "subnets in at least two Availability Zones", docRDSSubnetGroup, func(r Resource, sim *Simulation) []string {
			if zones := zonesOf(r, "subnetIds", sim); len(zones) < 2 {
				return []string{fmt.Sprintf("%d zone(s) %v", len(zones), zones)}
			}
			return nil
		}),
	}, tagRules("tags")...),
	"aws:rds/parameterGroup:ParameterGroup": append([]awsRule{
		nameRule(autoName, "1 to 255 letters, digits or hyphens, starting with a letter, no trailing hyphen or two hyphens in a row", docRDSParamGroupName, rdsParameterGroupNameOK),
		oneOf("family", docRDSFamilies, "mysql5.7", "mysql8.0", "mysql8.4"),
	}, tagRules("tags")...),
	"aws:rds/instance:Instance": append([]awsRule{
		nameRule(rdsAutoName, "1 to 63 letters, digits or hyphens, starting with a letter, no trailing hyphen or two hyphens in a row", docRDSCreate+"db-instance-identifier.html", rdsIdentifierOK),
		whole("parameterGroupName", "a parameter group whose family matches the engine's major version (mysql8.4 for 8.4.x)", docRDSFamilyMatch, rdsFamilyMatches),
		oneOf("engineLifecycleSupport", docRDSCreate+"engine-lifecycle-support.html", "open-source-rds-extended-support", "open-source-rds-extended-support-disabled"),
		whole("engineLifecycleSupport", "with Extended Support disabled, creating an instance of a major version past its end of standard support fails", docRDSCreate+"engine-lifecycle-support.html", rdsPastStandardSupport),
		whole("allocatedStorage", "gp2 and gp3 MySQL storage from 20 to 65,536 GiB", docRDSCreate+"allocated-storage.html", func(r Resource, _ *Simulation) []string {
			kind := textAt(r, "storageType")
			if kind != "" && kind != "gp2" && kind != "gp3" {
				return nil
			}
			var bad []string
			for _, gib := range numbersAt(r, "allocatedStorage") {
				if gib < 20 || gib > 65536 {
					bad = append(bad, fmtNumber(gib)+" GiB of "+kind)
				}
			}
			return bad
		}),
		between("backupRetentionPeriod", 0, 35, docRDSCreate+"backup-retention-period.html"),
		textRule("username", "1 to 16 letters, digits or underscores, starting with a letter", docRDSCreate+"master-username.html", func(s string) bool {
			return regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,15}$`).MatchString(s)
		}),
		textRule("dbName", "MySQL: 1 to 64 letters, digits or underscores, starting with a letter", docRDSCreate+"db-name.html", func(s string) bool {
			return regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,63}$`).MatchString(s)
		}),
		whole("manageMasterUserPassword", "not with a password: RDS manages it, or the program sets it", docRDSCreate+"manage-master-user-password.html", func(r Resource, _ *Simulation) []string {
			if isTrue(r, "manageMasterUserPassword") && textAt(r, "password") != "" {
				return []string{"true with a password"}
			}
			return nil
		}),
	}, tagRules("tags")...),
	"aws:elasticache/subnetGroup:SubnetGroup": append([]awsRule{
		nameRule(autoName, "up to 255 lowercase alphanumerics or hyphens", docCacheSubnetGroup, cacheSubnetGroupNameOK),
	}, tagRules("tags")...),
	"aws:elasticache/cluster:Cluster": append([]awsRule{
		nameRule(clusterAutoName, "1 to 50 lowercase alphanumerics or hyphens, starting with a letter, no trailing hyphen or two hyphens in a row", docCacheCluster, cacheClusterIDOK),
		oneOf("engine", docCacheCluster, "memcached", "redis", "valkey"),
		whole("numCacheNodes", "memcached: 1 to 40 nodes", "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/elasticache/aws.sdk.kotlin.services.elasticache.model/-create-cache-cluster-request/num-cache-nodes.html", func(r Resource, _ *Simulation) []string {
			if textAt(r, "engine") != "memcached" {
				return nil
			}
			if n := numberAt(r, "numCacheNodes", 1); n < 1 || n > 40 {
				return []string{fmtNumber(n)}
			}
			return nil
		}),
		whole("transitEncryptionEnabled", "memcached in-transit encryption needs engine version 1.6.12 or later", "https://aws.amazon.com/cn/about-aws/whats-new/2022/05/amazon-elasticache-memcached-supports-encryption-data-transit", func(r Resource, _ *Simulation) []string {
			if isTrue(r, "transitEncryptionEnabled") && textAt(r, "engine") == "memcached" && !versionAtLeast(textAt(r, "engineVersion"), "1.6.12") {
				return []string{"true with memcached " + quoted(textAt(r, "engineVersion"))}
			}
			return nil
		}),
		between("port", 1, 65535, docCacheCluster),
	}, tagRules("tags")...),

	// --- Identity ----------------------------------------------------------
	"aws:iam/role:Role": append(append([]awsRule{
		nameRule(autoName, "1 to 64 of a-zA-Z0-9 and _+=,.@-", docIAMRole, iamNameOK(64)),
		textRule("description", "up to 1,000 of tab, LF, CR, U+0020–U+007E and U+00A1–U+00FF", "https://docs.aws.amazon.com/goto/WebAPI/iam/UpdateRoleDescription", roleDescriptionOK),
		textRule("assumeRolePolicy", "a role trust policy of at most 2,048 characters (whitespace not counted)", docIAMQuotas, func(s string) bool { return nonSpaceLen(s) <= 2048 }),
	}, policyRules("assumeRolePolicy", trustPolicy)...), tagRules("tags")...),
	"aws:iam/rolePolicy:RolePolicy": append([]awsRule{
		nameRule(autoName, "1 to 128 of a-zA-Z0-9 and _+=,.@-", "https://docs.aws.amazon.com/pt_br/IAM/latest/APIReference/API_InlinePolicy.html", iamNameOK(128)),
		whole("policy", "a role's inline policies together at most 10,240 characters (whitespace not counted)", docIAMQuotas, inlinePoliciesFit),
	}, policyRules("policy", identityPolicy)...),
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
		textRule("policyArn", "a managed policy ARN, arn:aws:iam::(aws|account):policy/…", docIAMQuotas, func(s string) bool {
			return regexp.MustCompile(`^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[\w+=,.@/-]+$`).MatchString(s)
		}),
		whole("role", "at most 10 managed policies attached to a role (default quota)", docIAMQuotas, func(r Resource, sim *Simulation) []string {
			n := 0
			for _, other := range sim.ofType(r.Type) {
				if textAt(other, "role") == textAt(r, "role") {
					n++
				}
			}
			if n > 10 {
				return []string{fmt.Sprintf("%s with %d", quoted(textAt(r, "role")), n)}
			}
			return nil
		}),
	},
	"aws:iam/instanceProfile:InstanceProfile": append([]awsRule{
		nameRule(autoName, "1 to 128 of a-zA-Z0-9 and _+=,.@-", "https://docs.aws.amazon.com/goto/WebAPI/iam/CreateInstanceProfile", iamNameOK(128)),
	}, tagRules("tags")...),

	// --- Storage -----------------------------------------------------------
	"aws:s3/bucketV2:BucketV2": append([]awsRule{
		nameRule(bucketAutoName, "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, no \"..\", not an IP address, no reserved prefix or suffix", docS3BucketNames, s3BucketNameOK),
	}, tagRules("tags")...),
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {
		whole("blockPublicPolicy", "with blockPublicPolicy, S3 rejects a bucket policy that allows public access", "https://docs.aws.amazon.com/goto/WebAPI/s3-2006-03-01/PublicAccessBlockConfiguration", func(r Resource, sim *Simulation) []string {
			if !isTrue(r, "blockPublicPolicy") {
				return nil
			}
			var bad []string
			for _, policy := range sim.ofType("aws:s3/bucketPolicy:BucketPolicy") {
				if textAt(policy, "bucket") == textAt(r, "bucket") && bucketPolicyIsPublic(textAt(policy, "policy")) {
					bad = append(bad, "true with public policy "+policy.Name)
				}
			}
			return bad
		}),
	},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls": {
		oneOf("rule.objectOwnership", "https://docs.aws.amazon.com/AmazonS3/latest/API/API_OwnershipControlsRule.html", "BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"),
	},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {
		oneOf("rules.applyServerSideEncryptionByDefault.sseAlgorithm", "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/macie2/aws.sdk.kotlin.services.macie2.model/-bucket-server-side-encryption/type.html", "AES256", "aws:kms", "aws:kms:dsse"),
	},
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": {
		maxChars("rules.id", 255, docS3Lifecycle),
		oneOf("rules.status", docS3Lifecycle, "Enabled", "Disabled"),
		between("rules.abortIncompleteMultipartUpload.daysAfterInitiation", 0, 2147483647, "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-s3-bucket-abortincompletemultipartupload.html"),
		textRule("rules.filter.prefix", "an object key prefix: at most 1,024 bytes of UTF-8", docS3ObjectKeys, func(s string) bool { return len(s) <= 1024 && utf8.ValidString(s) }),
	},
	"aws:s3/bucketPolicy:BucketPolicy": append([]awsRule{
		textRule("policy", "a bucket policy of at most 20 KB", "https://docs.aws.amazon.com/en_us/AmazonS3/latest/userguide/using-iam-policies.html", func(s string) bool { return len(s) <= 20*1024 }),
	}, policyRules("policy", resourcePolicy)...),
	"aws:s3/bucketObjectv2:BucketObjectv2": append([]awsRule{
		textRule("key", "1 to 1,024 bytes of UTF-8", docS3ObjectKeys, func(s string) bool { return s != "" && len(s) <= 1024 && utf8.ValidString(s) }),
	}, tagRules("tags")...),
	"aws:efs/fileSystem:FileSystem": append([]awsRule{
		nameRule(efsTokenName, "1 to 64 characters", "https://docs.rs/aws-sdk-efs/latest/aws_sdk_efs/operation/create_file_system/struct.CreateFileSystemInput.html", func(s string) bool {
			return s != "" && len(s) <= 64
		}),
		oneOf("performanceMode", "https://docs.rs/aws-sdk-efs/latest/aws_sdk_efs/operation/create_file_system/struct.CreateFileSystemInput.html", "generalPurpose", "maxIO"),
		oneOf("throughputMode", "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/efs/aws.sdk.kotlin.services.efs.model/-create-file-system-request/throughput-mode.html", "bursting", "provisioned", "elastic"),
	}, tagRules("tags")...),
	"aws:efs/mountTarget:MountTarget": {
		atMost("securityGroups", 5, "https://docs.rs/crate/aws-sdk-efs/1.73.0/source/src/operation/create_mount_target/_create_mount_target_input.rs"),
		whole("subnetId", "one mount target per Availability Zone for a file system", docEFSMountTarget, func(r Resource, sim *Simulation) []string {
			zone := func(m Resource) string {
				if s, ok := refersTo(sim, "aws:ec2/subnet:Subnet", textAt(m, "subnetId")); ok {
					return textAt(s, "availabilityZone")
				}
				return ""
			}
			mine := zone(r)
			for _, other := range sim.ofType(r.Type) {
				if other.Name != r.Name && textAt(other, "fileSystemId") == textAt(r, "fileSystemId") && mine != "" && zone(other) == mine {
					return []string{fmt.Sprintf("%s in %s, as %s", quoted(textAt(r, "subnetId")), mine, other.Name)}
				}
			}
			return nil
		}),
	},
	"aws:efs/accessPoint:AccessPoint": append([]awsRule{
		between("posixUser.uid", 0, 4294967295, docEFSCreationInfo),
		between("posixUser.gid", 0, 4294967295, docEFSCreationInfo),
		textRule("rootDirectory.path", "1 to 100 characters, at most four subdirectories, none of $#<>;`|&?{}^*", docEFSAccessPointRoot, efsAccessPointPathOK),
		between("rootDirectory.creationInfo.ownerUid", 0, 4294967295, docEFSCreationInfo),
		between("rootDirectory.creationInfo.ownerGid", 0, 4294967295, docEFSCreationInfo),
		textRule("rootDirectory.creationInfo.permissions", "an octal mode of 3 or 4 digits, such as 0755", docEFSCreationInfo, func(s string) bool {
			return regexp.MustCompile(`^[0-7]{3,4}$`).MatchString(s)
		}),
	}, tagRules("tags")...),
	"aws:efs/fileSystemPolicy:FileSystemPolicy": append([]awsRule{
		textRule("policy", "at most 20,000 characters", "https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/efs/aws.sdk.kotlin.services.efs.model/-put-file-system-policy-request/policy.html", func(s string) bool {
			return utf8.RuneCountInString(s) <= 20000
		}),
	}, policyRules("policy", resourcePolicy)...),
	"aws:cloudwatch/logGroup:LogGroup": append([]awsRule{
		nameRule(autoName, "1-512 of a-zA-Z0-9 _-/.#, not starting with aws/", docLogGroup, func(name string) bool {
			return regexp.MustCompile(`^[A-Za-z0-9_\-/.#]{1,512}$`).MatchString(name) && !strings.HasPrefix(name, "aws/")
		}),
		whole("retentionInDays", "one of the retention periods CloudWatch Logs offers", "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html",
			func(r Resource, _ *Simulation) []string {
				days := numberAt(r, "retentionInDays", 0)
				for _, allowed := range []float64{0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653} {
					if days == allowed {
						return nil
					}
				}
				return []string{fmtNumber(days)}
			}),
	}, tagRules("tags")...),
	"aws:cloudwatch/dashboard:Dashboard": {
		whole("dashboardName", "1-255 of A-Z, a-z, 0-9, - and _", docDashboard, func(r Resource, _ *Simulation) []string {
			if name := textAt(r, "dashboardName"); !regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`).MatchString(name) {
				return []string{quoted(name)}
			}
			return nil
		}),
		// Each widget has a type and a size; a metric widget names its region
		// and lists metrics as namespace, name, then dimension name/value
		// pairs and an optional options object.
		whole("dashboardBody", "JSON widgets as the dashboard body syntax requires", "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html",
			func(r Resource, _ *Simulation) []string { return dashboardBodyProblems(textAt(r, "dashboardBody")) }),
	},
	"aws:ssm/parameter:Parameter": append([]awsRule{
		nameRule(autoName, "a-zA-Z0-9_.- and /, not starting with aws or ssm, at most 15 levels, a leading / in a hierarchy, at most 1,011 characters", docSSMName, ssmParameterNameOK),
		oneOf("type", "https://docs.aws.amazon.com/sdkforruby/api/Aws/SSM/Types/PutParameterRequest.html", "String", "StringList", "SecureString"),
		whole("value", "at most 4,096 characters in the Standard tier", "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html", func(r Resource, _ *Simulation) []string {
			if tier := textAt(r, "tier"); tier != "" && tier != "Standard" {
				return nil
			}
			var bad []string
			for _, v := range textsAt(r, "value") {
				if utf8.RuneCountInString(v) > 4096 {
					bad = append(bad, quoted(v))
				}
			}
			return bad
		}),
	}, tagRules("tags")...),
}

// maxUserDataBytes is EC2's user-data limit, before base64.
const maxUserDataBytes = 16 * 1024

// --- Security groups ---------------------------------------------------------

var (
	// EC2's allowed characters for a security group's description and
	// name, and for a CIDR rule's description (IpRange).
	ec2DescriptionChars = regexp.MustCompile(`^[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$`)
	// A rule that references a group (UserIdGroupPair) allows the same
	// characters but "&".
	ec2GroupPairDescriptionChars = regexp.MustCompile(`^[a-zA-Z0-9 ._\-:/()#,@\[\]+=;{}!$*]*$`)
)

func ec2DescriptionOK(s string) bool { return len(s) <= 255 && ec2DescriptionChars.MatchString(s) }

func ec2GroupPairDescriptionOK(s string) bool {
	return len(s) <= 255 && ec2GroupPairDescriptionChars.MatchString(s)
}

func securityGroupNameOK(s string) bool {
	return s != "" && ec2DescriptionOK(s) && !strings.HasPrefix(strings.ToLower(s), "sg-")
}

// securityGroupRuleRules are shared by ingress and egress rules.
func securityGroupRuleRules() []awsRule {
	return append([]awsRule{
		// A rule from a CIDR block takes IpRange's characters; a rule from
		// another group takes UserIdGroupPair's, which lack "&".
		whole("description", "up to 255 of a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$*", docIPRange, func(r Resource, _ *Simulation) []string {
			if textAt(r, "referencedSecurityGroupId") != "" {
				return nil
			}
			return badTexts(r, "description", ec2DescriptionOK)
		}),
		whole("description", "up to 255 of a-zA-Z0-9, spaces and ._-:/()#,@[]+=;{}!$* (a rule from a security group)", docGroupPair, func(r Resource, _ *Simulation) []string {
			if textAt(r, "referencedSecurityGroupId") == "" {
				return nil
			}
			return badTexts(r, "description", ec2GroupPairDescriptionOK)
		}),
		whole("cidrIpv4", "exactly one peer: cidrIpv4, cidrIpv6, prefixListId or referencedSecurityGroupId", docIPRange, func(r Resource, _ *Simulation) []string {
			n := 0
			for _, f := range []string{"cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"} {
				if textAt(r, f) != "" {
					n++
				}
			}
			if n != 1 {
				return []string{fmt.Sprintf("%d peers", n)}
			}
			return nil
		}),
		textRule("cidrIpv4", "an IPv4 CIDR block as its network address", docIPRange, func(s string) bool {
			p, err := netip.ParsePrefix(s)
			return err == nil && p.Addr().Is4() && cidrCanonical(s)
		}),
		whole("ipProtocol", "tcp, udp, icmp, icmpv6, -1 or a protocol number; tcp and udp need a port range within 0–65535", docIPPermission, func(r Resource, _ *Simulation) []string {
			proto := strings.ToLower(textAt(r, "ipProtocol"))
			if n, err := strconv.Atoi(proto); err == nil && n >= -1 && n <= 255 {
				if n != 6 && n != 17 {
					return nil
				}
			} else if !slices.Contains([]string{"tcp", "udp", "icmp", "icmpv6"}, proto) {
				return []string{quoted(proto)}
			}
			if proto == "icmp" || proto == "icmpv6" {
				return nil
			}
			from, to := numberAt(r, "fromPort", -1), numberAt(r, "toPort", -1)
			if from < 0 || to > 65535 || from > to {
				return []string{fmt.Sprintf("%s ports %s–%s", proto, fmtNumber(from), fmtNumber(to))}
			}
			return nil
		}),
	}, tagRules("tags")...)
}

// --- Network ------------------------------------------------------------------

// subnetFitsVPC: a subnet's block lies inside its VPC's and overlaps no
// other subnet of that VPC.
func subnetFitsVPC(r Resource, sim *Simulation) []string {
	mine, err := netip.ParsePrefix(textAt(r, "cidrBlock"))
	if err != nil {
		return nil
	}
	var bad []string
	if vpc, ok := refersTo(sim, "aws:ec2/vpc:Vpc", textAt(r, "vpcId")); ok {
		if outer, err := netip.ParsePrefix(textAt(vpc, "cidrBlock")); err == nil && (outer.Bits() > mine.Bits() || !outer.Contains(mine.Addr())) {
			bad = append(bad, fmt.Sprintf("%s outside VPC %s", mine, outer))
		}
	}
	for _, other := range sim.ofType(r.Type) {
		if other.Name == r.Name || textAt(other, "vpcId") != textAt(r, "vpcId") {
			continue
		}
		if theirs, err := netip.ParsePrefix(textAt(other, "cidrBlock")); err == nil && theirs.Overlaps(mine) {
			bad = append(bad, fmt.Sprintf("%s overlaps %s (%s)", mine, theirs, other.Name))
		}
	}
	return bad
}

// --- Compute ------------------------------------------------------------------

var launchTemplateNamePattern = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)

func launchTemplateNameOK(s string) bool { return launchTemplateNamePattern.MatchString(s) }

func asgNameOK(s string) bool {
	if s == "" || len(s) > 255 || strings.Contains(s, ":") {
		return false
	}
	for _, r := range s {
		if r < 33 || r > 126 {
			return false
		}
	}
	return true
}

// ebsVolumeSizeOK bounds gp2 and gp3 volume sizes under prefix.
func ebsVolumeSizeOK(prefix string) func(Resource, *Simulation) []string {
	return func(r Resource, _ *Simulation) []string {
		kind := textAt(r, prefix+".volumeType")
		if kind != "" && kind != "gp2" && kind != "gp3" {
			return nil
		}
		var bad []string
		for _, gib := range numbersAt(r, prefix+".volumeSize") {
			if gib < 1 || gib > 16384 {
				bad = append(bad, fmtNumber(gib)+" GiB")
			}
		}
		return bad
	}
}

func alarmPeriodOK(p float64) bool {
	return p == 10 || p == 20 || p == 30 || (p >= 60 && p == float64(int64(p)) && int64(p)%60 == 0)
}

// --- Load balancing -------------------------------------------------------------

var elbNamePattern = regexp.MustCompile(`^[a-zA-Z0-9-]{1,32}$`)

func targetGroupNameOK(s string) bool {
	return elbNamePattern.MatchString(s) && !strings.HasPrefix(s, "-") && !strings.HasSuffix(s, "-")
}

func loadBalancerNameOK(s string) bool {
	return targetGroupNameOK(s) && !strings.HasPrefix(strings.ToLower(s), "internal-")
}

// httpMatcherOK: ALB matchers are codes 200–499, listed or as a range.
func httpMatcherOK(s string) bool {
	code := func(c string) (int, bool) {
		n, err := strconv.Atoi(c)
		return n, err == nil && n >= 200 && n <= 499
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, ok := code(lo)
		if !ok {
			return false
		}
		if isRange {
			if b, ok := code(hi); !ok || b < a {
				return false
			}
		}
	}
	return true
}

// --- Database and cache -----------------------------------------------------------

// rdsStyleName: letters, digits and hyphens, starting with a letter, with
// no trailing hyphen and no two hyphens in a row (RDS identifiers and
// parameter group names, ElastiCache cluster ids).
func rdsStyleName(s string, max int, lowerOnly bool) bool {
	pattern := `^[a-zA-Z][a-zA-Z0-9-]*$`
	if lowerOnly {
		pattern = `^[a-z][a-z0-9-]*$`
	}
	return len(s) <= max && regexp.MustCompile(pattern).MatchString(s) && !strings.Contains(s, "--") && !strings.HasSuffix(s, "-")
}

func rdsIdentifierOK(s string) bool { return rdsStyleName(s, 63, false) }
func rdsParameterGroupNameOK(s string) bool {
	return rdsStyleName(s, 255, false) && !strings.Contains(s, ".")
}
func cacheClusterIDOK(s string) bool { return rdsStyleName(s, 50, true) }
func cacheSubnetGroupNameOK(s string) bool {
	return regexp.MustCompile(`^[a-z0-9-]{1,255}$`).MatchString(s)
}
func rdsSubnetGroupNameOK(s string) bool {
	return len(s) <= 255 && regexp.MustCompile(`^[a-z][a-z0-9 ._-]*$`).MatchString(s) && s != "default"
}

// mysqlFamily is the parameter group family for a MySQL version: "mysql"
// and its major version ("8.4.3" → "mysql8.4").
func mysqlFamily(version string) string {
	parts := strings.Split(version, ".")
	if len(parts) < 2 {
		return ""
	}
	return "mysql" + parts[0] + "." + parts[1]
}

// rdsFamilyMatches: the instance's parameter group is of its engine
// version's family, whatever the version is.
func rdsFamilyMatches(r Resource, sim *Simulation) []string {
	group, ok := refersTo(sim, "aws:rds/parameterGroup:ParameterGroup", textAt(r, "parameterGroupName"))
	if !ok || textAt(r, "engine") != "mysql" {
		return nil
	}
	family, version := textAt(group, "family"), textAt(r, "engineVersion")
	if family != mysqlFamily(version) {
		return []string{fmt.Sprintf("%s (family %s) for MySQL %s, which needs %s", group.Name, quoted(family), quoted(version), quoted(mysqlFamily(version)))}
	}
	return nil
}

// mysqlStandardSupportEnds: end of RDS standard support per MySQL major
// version, from the RDS for MySQL release calendar
// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/MySQL.Concepts.VersionMgmt.html;
// 8.0: 2026-07-31, see https://github.com/buttonmen-dev/buttonmen/issues/3098).
// Add a major version here when its date is published.
var mysqlStandardSupportEnds = map[string]string{"8.0": "2026-07-31"}

// rdsPastStandardSupport: with Extended Support disabled, RDS refuses to
// create an instance of a major version past its end of standard support.
func rdsPastStandardSupport(r Resource, _ *Simulation) []string {
	if textAt(r, "engine") != "mysql" || textAt(r, "engineLifecycleSupport") != "open-source-rds-extended-support-disabled" {
		return nil
	}
	major := strings.TrimPrefix(mysqlFamily(textAt(r, "engineVersion")), "mysql")
	end, ok := mysqlStandardSupportEnds[major]
	if !ok {
		return nil
	}
	if ends, err := time.Parse(time.DateOnly, end); err == nil && time.Now().After(ends.Add(24*time.Hour)) {
		return []string{fmt.Sprintf("%q for MySQL %s, whose standard support ended %s", textAt(r, "engineLifecycleSupport"), textAt(r, "engineVersion"), end)}
	}
	return nil
}

// versionAtLeast compares dotted versions numerically.
func versionAtLeast(version, min string) bool {
	v, m := strings.Split(version, "."), strings.Split(min, ".")
	for i := range m {
		var a int
		if i < len(v) {
			var err error
			if a, err = strconv.Atoi(v[i]); err != nil {
				return false
			}
		}
		b, _ := strconv.Atoi(m[i])
		if a != b {
			return a > b
		}
	}
	return true
}

// --- Identity ---------------------------------------------------------------------

var iamNameChars = regexp.MustCompile(`^[\w+=,.@-]+$`)

func iamNameOK(max int) func(string) bool {
	return func(s string) bool { return len(s) <= max && iamNameChars.MatchString(s) }
}

func roleDescriptionOK(s string) bool {
	return utf8.RuneCountInString(s) <= 1000 && iamPolicyCharsOK(s)
}

// inlinePoliciesFit: IAM counts a role's inline policies together.
func inlinePoliciesFit(r Resource, sim *Simulation) []string {
	total := 0
	for _, p := range sim.ofType(r.Type) {
		if textAt(p, "role") == textAt(r, "role") {
			total += nonSpaceLen(textAt(p, "policy"))
		}
	}
	if total > 10240 {
		return []string{fmt.Sprintf("%d characters for role %s", total, quoted(textAt(r, "role")))}
	}
	return nil
}

// --- Storage ------------------------------------------------------------------------

var s3BucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`)

func s3BucketNameOK(s string) bool {
	if len(s) < 3 || len(s) > 63 || !s3BucketNamePattern.MatchString(s) || strings.Contains(s, "..") {
		return false
	}
	if ip := net.ParseIP(s); ip != nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(s, p) {
			return false
		}
	}
	for _, suffix := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3"} {
		if strings.HasSuffix(s, suffix) {
			return false
		}
	}
	return true
}

// bucketPolicyIsPublic: an Allow to every principal without a condition.
func bucketPolicyIsPublic(raw string) bool {
	p, err := parseAWSPolicy(raw)
	if err != nil {
		return false
	}
	for _, s := range p.Statement {
		if s.Effect == "Allow" && len(s.Condition) == 0 && (fmt.Sprint(s.Principal) == "*" || fmt.Sprint(s.Principal) == "map[AWS:*]") {
			return true
		}
	}
	return false
}

var efsAccessPointPath = regexp.MustCompile("^(/|(/[^$#<>;`|&?{}^*/\\n]+){1,4})$")

func efsAccessPointPathOK(s string) bool {
	// The documented pattern also forbids a component starting with ".".
	return len(s) >= 1 && len(s) <= 100 && efsAccessPointPath.MatchString(s) && !strings.Contains(s, "/.")
}

var ssmNameChars = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

func ssmParameterNameOK(s string) bool {
	if s == "" || len(s) > 1011 || !ssmNameChars.MatchString(s) {
		return false
	}
	lower := strings.ToLower(strings.TrimPrefix(s, "/"))
	if strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm") {
		return false
	}
	if strings.Contains(s, "/") && !strings.HasPrefix(s, "/") {
		return false
	}
	return strings.Count(s, "/") <= 15
}

// dashboardBodyProblems lists what in a dashboard body breaks its syntax.
func dashboardBodyProblems(body string) []string {
	var parsed struct {
		Widgets []struct {
			Type                string
			X, Y, Width, Height *int
			Properties          struct {
				Region  string
				Metrics [][]any
				Alarms  []string
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &parsed); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	if len(parsed.Widgets) == 0 || len(parsed.Widgets) > 500 {
		return []string{fmt.Sprintf("%d widgets (1 to 500)", len(parsed.Widgets))}
	}
	var bad []string
	for i, w := range parsed.Widgets {
		if w.Width == nil || w.Height == nil || *w.Width < 1 || *w.Width > 24 || *w.Height < 1 || *w.Height > 1000 {
			bad = append(bad, fmt.Sprintf("widget %d: width 1-24 and height 1-1000 required", i))
		}
		switch w.Type {
		case "metric":
			if w.Properties.Region == "" || len(w.Properties.Metrics) == 0 {
				bad = append(bad, fmt.Sprintf("widget %d: a metric widget needs region and metrics", i))
			}
			for _, line := range w.Properties.Metrics {
				strs := 0
				for _, v := range line {
					if _, ok := v.(string); ok {
						strs++
					}
				}
				// namespace and name, then dimension name/value pairs
				if strs < 2 || strs%2 != 0 {
					bad = append(bad, fmt.Sprintf("widget %d: metric %v is not namespace, name and dimension pairs", i, line))
				}
			}
		case "alarm":
			if len(w.Properties.Alarms) == 0 || len(w.Properties.Alarms) > 100 {
				bad = append(bad, fmt.Sprintf("widget %d: an alarm widget needs 1-100 alarm ARNs", i))
			}
		default:
			bad = append(bad, fmt.Sprintf("widget %d: type %q", i, w.Type))
		}
	}
	return bad
}

// The demo: a small VPC (public subnets only: no NAT gateway, the SSM Agent reaches SSM over the internet
// gateway) and an Auto Scaling group of Amazon Linux 2023 instances running demo workers as systemd
// services, drained by a FleetDrainer. Scale it in and watch the drain.

import {
  aws_autoscaling as autoscaling,
  CfnOutput,
  Duration,
  aws_ec2 as ec2,
  aws_iam as iam,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { DrainPolicy } from '../agent/policy/policy';
import { FleetDrainer } from './fleet-drainer';

/** How long a demo job runs: a drain waits for the running one. */
export const DEMO_JOB_SECONDS = 90;
export const DEMO_WORKERS_PER_INSTANCE = 2;
/** Two instances to start with, so that there is one to scale in; room for one more. */
const DEMO_CAPACITY = { minCapacity: 0, maxCapacity: 3, desiredCapacity: 2 };
/** Availability Zones of the demo VPC: two, as a real group would spread. */
const DEMO_AZS = 2;
/** The root volume, as big as Amazon Linux 2023's AMI snapshot. */
const DEMO_ROOT_VOLUME_GB = 8;
/** The running job (DEMO_JOB_SECONDS) and the policy's 3 minutes of TERM fit with room to spare. */
const DEMO_MAX_DRAIN_TIME = Duration.minutes(15);
/** systemd's own stop timeout, longer than the policy's TERM/3m/KILL/5s: the agent, not systemd, KILLs. */
const DEMO_STOP_TIMEOUT_SECONDS = 300;

/** The demo's drain policy: stop taking jobs, then TERM the workers and give them time to finish. */
export const DEMO_POLICY: DrainPolicy = {
  version: 1,
  prepare: [{ touch: '/run/demo-worker/no-dispatch' }],
  targets: [{ name: 'demo-workers', systemd: 'demo-worker@*.service', schedule: 'TERM/3m/KILL/5s' }],
};

// A worker that runs one job after another; on TERM it finishes the running job, then exits.
const WORKER = `
const fs = require('node:fs');
const id = process.argv[2] ?? '0';
const log = (message, extra = {}) => console.log(JSON.stringify({ worker: id, message, ...extra }));
let stopping = false;
let job = 0;
process.on('SIGTERM', () => { stopping = true; log('TERM: finishing the running job, then exiting', { job }); });
function next() {
  if (stopping || fs.existsSync('/run/demo-worker/no-dispatch')) { log('no more jobs: exiting'); process.exit(0); }
  job += 1;
  log('job started', { job });
  setTimeout(() => { log('job done', { job }); next(); }, ${DEMO_JOB_SECONDS * 1000});
}
next();
`;

const UNIT = `[Unit]
Description=fleet-drainer demo worker %i
[Service]
ExecStart=/usr/bin/node /opt/demo-worker/worker.js %i
Restart=always
KillMode=mixed
TimeoutStopSec=${DEMO_STOP_TIMEOUT_SECONDS}
[Install]
WantedBy=multi-user.target
`;

export interface DemoStackProps extends StackProps {
  /** The drain policy; the demo's own by default. */
  readonly policy?: DrainPolicy;
}

export class DemoStack extends Stack {
  readonly group: autoscaling.AutoScalingGroup;
  readonly drainer: FleetDrainer;

  constructor(scope: Construct, id: string, props: DemoStackProps = {}) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: DEMO_AZS,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }],
      // Nothing uses the default security group (the instances have their own); emptying it would add a
      // custom-resource Lambda to a throwaway stack. Explicit, so no feature flag flips it.
      restrictDefaultSecurityGroup: false,
    });
    Validations.of(vpc).acknowledge({
      id: 'AwsSolutions::AwsSolutions-VPC7',
      reason: 'A throwaway demo VPC: flow logs would cost more than everything else in it.',
    });
    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      // What the SSM Agent needs to register and run commands. Nothing for Auto Scaling.
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: "AWS's own policy for a managed instance's SSM Agent, which AWS keeps current.",
    });
    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      'dnf install -y nodejs',
      'mkdir -p /opt/demo-worker /run/demo-worker',
      `cat > /opt/demo-worker/worker.js <<'WORKER'${WORKER}WORKER`,
      `cat > /etc/systemd/system/demo-worker@.service <<'UNIT'\n${UNIT}UNIT`,
      'systemctl daemon-reload',
      ...Array.from(
        { length: DEMO_WORKERS_PER_INSTANCE },
        (_, i) => `systemctl enable --now demo-worker@${i + 1}`,
      ),
    );
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      instanceType: new ec2.InstanceType('t4g.micro'),
      role,
      userData,
      associatePublicIpAddress: true,
      requireImdsv2: true,
      securityGroup: new ec2.SecurityGroup(this, 'NoInbound', {
        vpc,
        description: 'fleet-drainer demo: no inbound traffic; outbound to SSM',
      }),
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(DEMO_ROOT_VOLUME_GB, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
          }),
        },
      ],
    });
    this.group = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate,
      ...DEMO_CAPACITY,
    });
    Validations.of(this.group).acknowledge({
      id: 'Annotation::@aws-cdk/aws-autoscaling:desiredCapacitySet',
      reason:
        'The demo starts with two instances so that there is one to scale in; a redeploy resetting it is fine.',
    });
    Validations.of(this.group).acknowledge({
      id: 'AwsSolutions::AwsSolutions-AS3',
      reason:
        'The demo is watched through the drainer (its log, dashboard and events), not group notifications.',
    });
    this.drainer = new FleetDrainer(this, 'Drainer', {
      groups: [this.group],
      policy: props.policy ?? DEMO_POLICY,
      maxDrainTime: DEMO_MAX_DRAIN_TIME,
    });

    new CfnOutput(this, 'ScaleIn', {
      description:
        'Scale in by one instance, then watch the drain in the drainer Lambda log and the dashboard',
      value: `aws autoscaling set-desired-capacity --auto-scaling-group-name ${this.group.autoScalingGroupName} --desired-capacity ${DEMO_CAPACITY.desiredCapacity - 1}`,
    });
    new CfnOutput(this, 'DrainerLogs', {
      value: `aws logs tail ${this.drainer.function.logGroup.logGroupName} --follow`,
    });
  }
}

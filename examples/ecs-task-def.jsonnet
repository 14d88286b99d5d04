// One definition for the web app and its batch job: --ext-str type=batch switches the command.
local env = std.native('env');
local type = std.extVar('type');
{
  family: if type == 'batch' then 'demo-batch' else 'demo-web',
  cpu: '256',
  memory: '512',
  networkMode: 'awsvpc',
  requiresCompatibilities: ['FARGATE'],
  executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
  containerDefinitions: [
    {
      name: 'app',
      image: 'public.ecr.aws/nginx/nginx:' + env('IMAGE_TAG', '1.27'),
      essential: true,
      memory: 256,
      command: if type == 'batch' then ['sh', '-c', 'echo nightly job'] else null,
      portMappings: if type == 'batch' then [] else [{ containerPort: 80, protocol: 'tcp' }],
      environment: [{ name: 'RELEASE', value: env('RELEASE', 'dev') }],
    },
  ],
}

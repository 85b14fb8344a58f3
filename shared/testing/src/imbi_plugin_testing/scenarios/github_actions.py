"""Demo: deploy a project with GitHub Actions and report back.

Serves the GitHub stand-in with a seeded repository and drives the
github-actions plugin through the host model: list the refs, trigger the
deploy workflow on github.com (run details returned), follow the run to
success, trigger again against a GHES that rejects ``return_run_details``
(run found by the correlation input), and resync the recent deployments.
"""

from imbi_plugin_testing.fakes.github import GitHubFake
from imbi_plugin_testing.fakes.github import actions as gh_actions
from imbi_plugin_testing.host import Host
from imbi_plugin_testing.scenarios import Steps


async def run(steps: Steps) -> None:
    from imbi_plugin_testing.generation import plugin_under_test

    GitHubActionsPlugin = plugin_under_test('imbi_plugin_github_actions')

    fake = GitHubFake()
    fake.add_user('alice')
    token = fake.issue_token('alice', ['repo']).value
    repo = fake.add_repository(
        'acme', 'billing-api', collaborators={'alice': 'write'}
    )
    gh_actions.seed(fake, repo)
    links = {'github-repository': 'https://github.com/acme/billing-api'}
    config = {'workflow': 'deploy.yml', 'environment': 'production'}

    with fake.serve() as url:

        def host(api_url: str) -> Host:
            return Host(
                GitHubActionsPlugin,
                plugin_options={
                    'api_url': api_url,
                    'correlation_input': 'imbi_correlation',
                },
                credentials={'token': token},
            )

        github = host(url)

        async with steps.step('list refs: default branch first'):
            response = await github.deployment(
                'list_refs', project_links=links
            )
            steps.check(response.ok, str(response.body))
            names = [r.name for r in response.result]
            steps.check(
                names[:1] == ['main'] and 'v1.1.0' in names,
                f'unexpected refs {names}',
            )

        async with steps.step('trigger the deploy workflow on main'):
            started = await github.trigger_deployment(
                'main', environment_config=config, project_links=links
            )
            steps.check(started.ok, str(started.body))
            run_id = started.result.run_id
            steps.check(run_id.isdigit(), f'no run id: {started.result}')

        async with steps.step('follow the run to success'):
            seen = []
            for _ in range(5):
                response = await github.deployment(
                    'get_deployment_status',
                    run_id=run_id,
                    project_links=links,
                )
                steps.check(response.ok, str(response.body))
                seen.append(response.result.status)
                if response.result.status == 'success':
                    break
            steps.check(
                seen == ['queued', 'in_progress', 'success'],
                f'statuses {seen}',
            )

        async with steps.step('GHES without run details: run found'):
            gh_actions.state(fake).run_details = 'reject-400'
            ghes = host(url + '/api/v3')
            response = await ghes.trigger_deployment(
                'v1.1.0', environment_config=config, project_links=links
            )
            steps.check(response.ok, str(response.body))
            steps.check(
                response.result.run_id.isdigit()
                and response.result.run_id != run_id,
                f'run not found: {response.result}',
            )

        async with steps.step('list recent deployments'):
            response = await github.deployment(
                'list_recent_deployments',
                project_links=links,
                environments=['production', 'staging', 'unknown'],
                limit=2,
            )
            steps.check(response.ok, str(response.body))
            found = [(d.environment, d.status) for d in response.result]
            steps.check(
                found[0] == ('production', 'success')
                and ('staging', 'failed') in found,
                f'deployments {found}',
            )

#!/usr/bin/env bash
# The remote/shared-state rule packs (81-89, 94; issue 23 item 2): each
# issue example is decided by its family's rule, as a remote effect: a
# prompt at a terminal, a block with the remote reason without one. Their
# read-only twins stay on the host. Through `shunt check`, the same
# decision the hook and the shim get.
. "$(dirname "$0")/../lib.sh"
setup_home
mkdir -p "$TEST_TMP/ws"
cd "$TEST_TMP/ws"

# LINE<TAB>RULE-ID: the rule that must decide it
while IFS=$'\t' read -r line rule; do
	[ -n "$line" ] || continue
	json=$("$SHUNT" check --json --no-interactive -c "$line")
	like "$json" '"action":"block"' "no terminal: block: $line"
	like "$json" "\"rules\":\\[[^]]*\"$rule\"" "  by $rule"
	like "$json" 'acts on a remote system' "  with the remote reason"
	like "$("$SHUNT" check --interactive -c "$line")" '^prompt' "  at a terminal: prompt"
done <<'LINES'
aws secretsmanager delete-secret --secret-id my/secret	cloud-secret-delete
aws s3 rb s3://logs --force	aws-s3-delete
aws ec2 terminate-instances --instance-ids i-0abc	aws-delete
gcloud compute instances delete vm-1 --zone us-central1-a	gcloud-delete
az group delete --name rg-prod --yes	az-delete
gh repo delete owner/repo --yes	forge-delete
gh release delete v1.2.0 -y	forge-delete
doctl compute droplet delete web-1 --force	doctl-delete
heroku apps:destroy --app my-app --confirm my-app	heroku-destroy
vercel remove my-app --yes	vercel-remove
fly apps destroy my-app -y	fly-destroy
firebase firestore:delete --all-collections -f	firebase-delete
wrangler delete --name my-worker	wrangler-delete
restic forget --keep-last 1 --prune	backup-forget
borg delete /mnt/backup::host-2024-01-01	backup-forget
helm uninstall web -n prod	kubectl-delete
pulumi destroy --yes	terraform-destroy
terraform apply -auto-approve	terraform-auto-approve
kubectl delete ns prod	kubectl-delete
vault kv delete secret/app/db	vault-delete
consul kv delete -recurse config/	consul-kv-delete
mongosh --eval 'db.dropDatabase()'	sql-drop
redis-cli FLUSHALL	redis-flush
dropdb prod	dropdb
psql -c 'DELETE FROM users;'	sql-truncate
curl -X DELETE https://api.example.com/v1/users/42	http-delete
curl -XDELETE localhost:9200/logs	http-delete
curl --request DELETE https://api.example.com/x	http-delete
curl -X POST localhost:9200/logs/_delete_by_query -d '{}'	es-delete-by-query
http DELETE api.example.com/items/1	http-delete
wget --method=DELETE http://api.example.com/items/1	http-delete
ssh host rm -rf /data	remote-shell-destructive
cat script.sh | ssh host	remote-shell-stdin-script
scp passwd root@server:/etc/passwd	remote-copy-system
rsync -avz --delete ./dist/ deploy@web:/var/www/html/	rsync-delete-remote
npm publish	npm-publish
mvn deploy	maven-deploy
./gradlew publish	maven-deploy
cargo publish	cargo-publish
twine upload dist/*	cargo-publish
gem push mygem-1.0.0.gem	cargo-publish
docker push ghcr.io/acme/api:1.2.3	image-push
LINES

# The read-only and ordinary twins stay on the host.
while IFS= read -r line; do
	[ -n "$line" ] || continue
	is "$("$SHUNT" check --no-interactive -c "$line" | head -1 | cut -d: -f1)" host "host: $line"
done <<'LINES'
aws secretsmanager get-secret-value --secret-id my/secret
aws s3 ls s3://logs
gcloud compute instances list
az group list -o table
gh repo view owner/repo
gh release list
heroku logs --tail -a my-app
fly status -a my-app
restic snapshots
restic forget --keep-last 1 --prune --dry-run
helm list -A
pulumi preview
terraform plan
kubectl get ns
kubectl delete ns prod --dry-run=client
vault kv get secret/app/db
mongosh --eval 'db.users.find().limit(5)'
redis-cli ping
psql -c 'DELETE FROM users WHERE id = 42'
curl -X POST https://api.example.com/v1/users -d '{}'
ssh host uptime
scp root@server:/etc/nginx/nginx.conf .
rsync -avz ./dist/ deploy@web:/var/www/html/
npm publish --dry-run
cargo publish --dry-run
git commit -m "terraform destroy and kubectl delete docs"
terraform destroy --help
kubectl delete --help
gh repo delete --help
heroku apps:destroy --help
vault kv delete --help
LINES

# Through the shim, with the real clients where they are installed and no
# terminal: the remote command is refused before it runs (status 126 and
# the reason), its read-only twin runs. Through `shunt exec` (what the
# shell hook runs) the same.
noterm() { setsid -w "$@" </dev/null; }
export XDG_STATE_HOME="$TEST_TMP/state"
shimrun() { noterm env LD_PRELOAD="$SHIM" PATH="$BUILD/bin:$PATH" bash -c "$1"' ; echo "rc=$?"' 2>&1; }
for pair in 'curl|curl -s -X DELETE http://127.0.0.1:9/items/1|curl --version' \
	'kubectl|kubectl delete ns prod|kubectl version --client' \
	'psql|psql -h 127.0.0.1 -p 9 -c "DROP TABLE users"|psql --version' \
	'ssh|ssh -o BatchMode=yes -o ConnectTimeout=1 127.0.0.1 -p 9 rm -rf /data|ssh -V'; do
	IFS='|' read -r prog bad good <<<"$pair"
	if ! command -v "$prog" >/dev/null; then
		skip "$prog is not installed"
		continue
	fi
	out=$(shimrun "$bad")
	like "$out" 'rc=126' "shim, no terminal: $bad is refused (126)"
	like "$out" 'acts on a remote system' "  with the remote reason"
	like "$(shimrun "$good >/dev/null 2>&1")" 'rc=0' "shim: $good runs"
	out=$(noterm "$SHUNT" exec -c "$bad" 2>&1)
	is "$?" 126 "shunt exec, no terminal: $bad is refused (126)"
done

# A local database file is a local effect: sandboxed, not prompted.
like "$("$SHUNT" check --no-interactive -c "sqlite3 app.db 'DROP TABLE users'")" '^sandbox' \
	"sqlite3 on a local file: sandbox (local effect)"

done_testing

#!/bin/sh
# As the official image: every $NGINX_ENVSUBST_TEMPLATE_DIR/**/*$NGINX_ENVSUBST_TEMPLATE_SUFFIX is
# rendered with envsubst into the same relative path under $NGINX_ENVSUBST_OUTPUT_DIR, the suffix
# dropped. Only variables defined in the environment (and matching NGINX_ENVSUBST_FILTER, a
# regular expression, when set) are replaced; any other $name is left for Nginx.
set -e

template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
filter="${NGINX_ENVSUBST_FILTER:-}"

[ -d "$template_dir" ] || exit 0
if [ ! -w "$output_dir" ]; then
    echo "$0: ERROR: $template_dir exists, but $output_dir is not writable" >&2
    exit 0
fi

# shellcheck disable=SC2016,SC2046 # a literal list of ${NAME} for envsubst
defined_envs=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" </dev/null))

find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
    relative_path="${template#"$template_dir/"}"
    output_path="$output_dir/${relative_path%"$suffix"}"
    mkdir -p "$(dirname "$output_path")"
    [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "$0: Running envsubst on $template to $output_path"
    envsubst "$defined_envs" <"$template" >"$output_path"
done

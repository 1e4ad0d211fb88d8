#compdef keyflow
# keyflow completion for zsh. Load it from ~/.zshrc, after compinit:
#   source <(keyflow completion zsh)
# It asks `keyflow __complete` for the candidates of the word under the cursor.
_keyflow() {
  local -a lines candidates
  local line value description
  lines=("${(@f)$(keyflow __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ ${lines[1]} == :files ]]; then
    _files
    return
  fi
  for line in "${lines[@]}"; do
    [[ -z $line ]] && continue
    value=${line%%$'\t'*}
    description=
    [[ $line == *$'\t'* ]] && description=${line#*$'\t'}
    candidates+=("${value//:/\\:}${description:+:$description}")
  done
  _describe -t values keyflow candidates
}
compdef _keyflow keyflow

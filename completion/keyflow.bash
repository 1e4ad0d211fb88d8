# keyflow completion for bash. Load it from ~/.bashrc:
#   eval "$(keyflow completion bash)"
# It asks `keyflow __complete` for the candidates of the word under the cursor.
_keyflow() {
  local cur=${COMP_WORDS[COMP_CWORD]} head= line
  local IFS=$'\n'
  local -a lines
  lines=($(keyflow __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
  COMPREPLY=()
  if [[ ${lines[0]} == :files ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    compopt -o filenames 2>/dev/null
    return 0
  fi
  # bash splits --flag=value at the =: complete the value, keeping the = that is the word.
  if [[ $cur == = ]]; then head='='; cur=''; fi
  for line in "${lines[@]}"; do
    line=${line%%$'\t'*}
    [[ $line == "$cur"* ]] && COMPREPLY+=("$head$line")
  done
  return 0
}
complete -o default -F _keyflow keyflow

// The home page, /.
import { List } from '../list';
import { mount } from '../mount';

mount(<List />);
